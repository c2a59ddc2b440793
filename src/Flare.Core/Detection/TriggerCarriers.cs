using Flare.Manifold;

namespace Flare.Detection;

/// <summary>
/// An island gathers every image that carries the trigger, and an adaptive attack also stamps the
/// trigger on images that keep their own label (cover samples), so that the trigger alone does not
/// decide the label. Carriers that keep their labels spread over the labels as the data set does, while
/// all-to-one poison crowds into its target: where the islands hold a group in at least three labels and
/// a minority of those labels hold a share of their samples at least <see cref="OutstandingShareRatio"/>
/// times the median label's, the groups of the other labels are carriers. Within each outstanding label
/// a member goes with whichever it resembles more where the classifier reads (the penultimate
/// activations, relative to its label's unflagged samples; two diagonal normals refitted a few rounds):
/// that label's group, or the carriers, which the classifier reads by their content and so stay near
/// their labels. All-to-all and untargeted poison spreads over the labels like carriers and is left
/// whole, as is an island within one label. docs/results.md, "Trigger carriers that keep their labels".
/// </summary>
public static class TriggerCarriers
{
    /// <summary>
    /// How much more of its samples a target label holds in the islands than the median label.
    /// Set between the development cases (docs/results.md): 1.06-1.18 where every group is poison,
    /// 2.71-2.76 where most groups are carriers.
    /// </summary>
    public const double OutstandingShareRatio = 2;

    private const int Rounds = 5;

    /// <summary>The islands' members split into those still flagged and the carriers set aside; unchanged when no label stands out.</summary>
    /// <param name="flagged">Every sample flagged so far: a label's other flagged samples are no reference for it.</param>
    public static CarrierSplit Split(DenseMatrix penultimate, IReadOnlyList<int> labels, int[] islands, bool[] flagged, int minGroupSize)
    {
        if (labels.Count != penultimate.Rows) throw new ArgumentException($"{labels.Count} labels for {penultimate.Rows} samples", nameof(labels));
        var inIslands = new HashSet<int>(islands);
        var groups = new List<LabelGroup>();
        foreach (var label in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = label.Where(inIslands.Contains).ToArray();
            var reference = label.Where(i => !flagged[i]).ToArray();
            if (members.Length >= minGroupSize && reference.Length >= minGroupSize)
                groups.Add(LabelGroup.Measure(penultimate, label.Key, members, reference, (double)members.Length / label.Count()));
        }
        var unchanged = new CarrierSplit(islands, [], [], null, null);
        if (groups.Count < 3) return unchanged;
        var median = Median(groups.Select(g => g.Share));
        var outstanding = groups.Where(g => g.Share >= OutstandingShareRatio * median).ToList();
        if (outstanding.Count == 0 || 2 * outstanding.Count >= groups.Count) return unchanged;

        var carrierGroups = groups.Except(outstanding).ToList();
        var carriers = new HashSet<int>(carrierGroups.SelectMany(g => g.Members));
        var carrierModel = DiagonalNormal.Fit(carrierGroups.SelectMany(g => g.Members.Select(g.Standardised)).ToList());
        var typicalCarriers = Median(carrierGroups.Select(g => (double)g.Members.Length));
        foreach (var group in outstanding)
        {
            var positions = group.Members.Select(group.Standardised).ToArray();
            var carrierPrior = Math.Log(Math.Min(0.5, typicalCarriers / group.Members.Length));
            var poisonPrior = Math.Log(1 - Math.Min(0.5, typicalCarriers / group.Members.Length));
            var poisoned = Enumerable.Repeat(true, positions.Length).ToArray();
            for (var round = 0; round < Rounds; round++)
            {
                var groupModel = DiagonalNormal.Fit(positions.Where((_, m) => poisoned[m]).ToList());
                for (var m = 0; m < positions.Length; m++)
                    poisoned[m] = groupModel.LogDensity(positions[m]) + poisonPrior >= carrierModel.LogDensity(positions[m]) + carrierPrior;
            }
            for (var m = 0; m < positions.Length; m++)
                if (!poisoned[m]) carriers.Add(group.Members[m]);
        }
        return new CarrierSplit(
            islands.Where(i => !carriers.Contains(i)).ToArray(),
            carriers.Order().ToArray(),
            outstanding.Select(g => g.Label).ToArray(),
            outstanding.Min(g => g.Share),
            median);
    }

    // The islands' members in one label (Share: of the label's samples), placed relative to the label's
    // unflagged samples, per column in their standard deviations.
    private sealed record LabelGroup(int Label, int[] Members, double Share, double[] Mean, double[] Deviation, DenseMatrix Space)
    {
        public static LabelGroup Measure(DenseMatrix space, int label, int[] members, int[] reference, double share)
        {
            var mean = new double[space.Columns];
            var deviation = new double[space.Columns];
            for (var column = 0; column < space.Columns; column++)
            {
                mean[column] = reference.Average(r => (double)space[r, column]);
                deviation[column] = Math.Sqrt(reference.Sum(r => Square(space[r, column] - mean[column])) / reference.Length);
            }
            return new LabelGroup(label, members, share, mean, deviation, space);
        }

        public double[] Standardised(int row)
        {
            var position = new double[Mean.Length];
            for (var column = 0; column < Mean.Length; column++)
                if (Deviation[column] >= GroupExtension.ConstantColumn) position[column] = (Space[row, column] - Mean[column]) / Deviation[column];
            return position;
        }
    }

    private sealed record DiagonalNormal(double[] Mean, double[] Variance)
    {
        // a floor, so that a column constant within a group does not decide alone
        private const double MinVariance = 1e-6;

        public static DiagonalNormal Fit(IReadOnlyList<double[]> positions)
        {
            var columns = positions[0].Length;
            var mean = new double[columns];
            var variance = new double[columns];
            foreach (var p in positions) for (var c = 0; c < columns; c++) mean[c] += p[c] / positions.Count;
            foreach (var p in positions) for (var c = 0; c < columns; c++) variance[c] += Square(p[c] - mean[c]) / positions.Count;
            for (var c = 0; c < columns; c++) variance[c] = Math.Max(variance[c], MinVariance);
            return new DiagonalNormal(mean, variance);
        }

        public double LogDensity(double[] position)
        {
            double sum = 0;
            for (var c = 0; c < Mean.Length; c++) sum -= 0.5 * Math.Log(Variance[c]) + Square(position[c] - Mean[c]) / (2 * Variance[c]);
            return sum;
        }
    }

    // of an even count, the upper one
    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static double Square(double x) => x * x;
}

/// <summary>Islands after <see cref="TriggerCarriers.Split"/>: their members still flagged, the carriers set aside, and the evidence (the smallest share of a poison label's samples in the islands, the median label's; null when no label stood out).</summary>
public sealed record CarrierSplit(int[] Poisoned, int[] Carriers, IReadOnlyList<int> PoisonLabels, double? PoisonShare, double? MedianShare)
{
    /// <summary>Why the carriers were set aside, as the verdict and the reports print it.</summary>
    public string Evidence => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"label(s) {string.Join(", ", PoisonLabels)} hold {PoisonShare:P0} of their samples in the islands, the median label {MedianShare:P0}");
}
