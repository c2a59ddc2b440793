using Flare.Progress;

namespace Flare.Detection.Baselines;

/// <summary>
/// Spectral Signatures (Tran et al. 2018). Per training label: the squared projection of each
/// centred penultimate activation on the top singular vector of the label's centred activations;
/// the top min(1.5 epsilon n, n / 2) scores are removed (backdoor-toolbox
/// cleansers_tool_box/spectral_signature.py). It removes that many from every label whatever the
/// data, so on a clean set it flags about 1.5 epsilon of it by design.
/// </summary>
public sealed class SpectralSignatures : IPoisonDetector
{
    public const double BudgetFactor = 1.5;

    public string Name => "ss";

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var (flagged, scores) = ClassFeatures.PerLabel(input.Evidence, progress, "spectral signatures", 2, block =>
        {
            var projection = block.Principal(1);
            var labelScores = new double[block.Rows.Length];
            for (var r = 0; r < labelScores.Length; r++) labelScores[r] = projection[r, 0] * projection[r, 0];
            return ClassFeatures.TopScores(labelScores, RemovalBudget(block.Rows.Length, input.PoisonRate));
        }, cancellationToken);
        return new DetectorOutcome(flagged, scores, [$"removed the top min(1.5 x {input.PoisonRate} x n, n / 2) of each label's scores"]);
    }

    /// <summary>How many of a label's n samples SS and SPECTRE remove.</summary>
    public static int RemovalBudget(int n, double poisonRate) =>
        Math.Min((int)Math.Round(BudgetFactor * poisonRate * n), n / 2);
}
