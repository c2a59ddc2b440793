namespace Flare.Detection;

/// <summary>Detection quality against ground truth: TPR over poisoned samples, FPR over clean ones.</summary>
public sealed record DetectionMetrics(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives)
{
    public int Poisoned => TruePositives + FalseNegatives;
    public int Clean => TrueNegatives + FalsePositives;

    /// <summary>Null when nothing is poisoned (a clean data set has no TPR).</summary>
    public double? TruePositiveRate => Poisoned == 0 ? null : (double)TruePositives / Poisoned;

    public double FalsePositiveRate => Clean == 0 ? 0 : (double)FalsePositives / Clean;

    /// <summary>Null when nothing is flagged.</summary>
    public double? Precision => TruePositives + FalsePositives == 0 ? null : (double)TruePositives / (TruePositives + FalsePositives);

    public static DetectionMetrics Compute(IReadOnlyList<bool> flagged, IReadOnlyList<bool> poisoned)
    {
        if (flagged.Count != poisoned.Count) throw new ArgumentException("one ground-truth entry per sample is required");
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < flagged.Count; i++)
        {
            if (poisoned[i]) { if (flagged[i]) tp++; else fn++; }
            else if (flagged[i]) fp++;
            else tn++;
        }
        return new DetectionMetrics(tp, fp, tn, fn);
    }
}
