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
        var evidence = input.Evidence;
        var features = evidence.Penultimate(progress);
        var byLabel = ClassFeatures.IndicesByLabel(evidence.Images.Labels, evidence.Classes);
        var flagged = new bool[features.Rows];
        var scores = new double[features.Rows];
        using var stage = progress.Begin("spectral signatures", byLabel.Length);
        foreach (var rows in byLabel)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (rows.Length < 2) { stage.Advance(1); continue; }
            var centred = ClassFeatures.Centered(features, rows);
            var (_, vectors) = ClassFeatures.SymmetricEigen(ClassFeatures.SecondMoment(centred));
            var projection = ClassFeatures.Project(centred, vectors, 1);
            var labelScores = new double[rows.Length];
            for (var r = 0; r < rows.Length; r++) scores[rows[r]] = labelScores[r] = projection[r, 0] * projection[r, 0];
            foreach (var r in ClassFeatures.Largest(labelScores, RemovalBudget(rows.Length, input.PoisonRate))) flagged[rows[r]] = true;
            stage.Advance(1);
        }
        return new DetectorOutcome(flagged, scores, [$"removed the top min(1.5 x {input.PoisonRate} x n, n / 2) of each label's scores"]);
    }

    /// <summary>How many of a label's n samples SS and SPECTRE remove.</summary>
    public static int RemovalBudget(int n, double poisonRate) =>
        Math.Min((int)Math.Round(BudgetFactor * poisonRate * n), n / 2);
}
