using Flare.Manifold;
using Flare.Manifold.Clustering;

namespace Flare.Detection;

/// <summary>
/// FLARE's search within each training label, for poison that is not one island of the whole data
/// set. All-to-all and untargeted attacks put poisoned images in every label, and each label's share
/// does not split off the benign data any earlier than benign groups do. Within its label, though,
/// a poisoned group is other classes' images that the model maps to this label through the trigger,
/// not through the label's own class evidence. In the last BatchNorm layer the label's benign images
/// have collapsed onto the label's own representation, while the poisoned group stands apart,
/// shifted from the rest of its label (in the label's own standard deviations per column), and in
/// the first layers, where the model still sees pixels, every label's poisoned group is shifted the
/// same way: by the one trigger. All-to-one poison that forms no island of the whole set is such a
/// group in its target label alone, shifted far beyond any other label's groups. A chain of named
/// stages: cluster each label, measure each cluster's shift, decide, extend the flagged groups
/// (<see cref="GroupExtension"/>). Where the model has a linear head Flare can read, labels are
/// clustered, measured and extended in its input (the penultimate activations); otherwise, or with
/// <see cref="DetectionOptions.LabelsInBatchNorm"/>, clustered in the whole search's subspace and
/// measured in the last BatchNorm layer. Measured margins and the
/// held-out checks: docs/results.md, "Within each label" to "One trigger in the first layers", and
/// "One label alone".
/// </summary>
public static class ClassConditionalSearch
{
    /// <summary>A shift of one standard deviation: a large effect, which benign groups of a label did not reach in most labels at once.</summary>
    public const double LargeShift = 1.0;

    /// <summary>
    /// A large shift must also be this many times the median shift of every cluster weighed in the
    /// data set: where the model has not collapsed each label (a model that did not fit), every group
    /// shifts, and none of it is evidence. Per space, because clusters found where their shift is
    /// measured (the penultimate activations) are shifted there by their selection alone.
    /// </summary>
    public const double LargeShiftOverTypicalLastLayer = 4.0, LargeShiftOverTypicalPenultimate = 1.5;

    /// <summary>A medium effect: the least shift a cluster needs before its direction is compared across labels.</summary>
    public const double SharedShiftFloor = 0.5;

    /// <summary>The cosine by which a shift must recur in the median other label: one trigger, one direction.</summary>
    public const double SharedDirection = 0.9;

    /// <summary>
    /// The cosine by which a large shift's unexplained part in the first layers must recur among the
    /// other labels' large shifts (the median label's best) for an all-to-all flag, and a shared
    /// shift's among the other labels' shared shifts for an untargeted flag: one trigger in the
    /// input. Random directions there meet at about 0; the middle of the gap measured between benign
    /// large groups (at most 0.21) and poisoned ones (at least 0.54) on the development cases
    /// (docs/results.md, "One trigger in the first layers"; for the untargeted test, "Label noise is
    /// not a shared trigger").
    /// </summary>
    public const double SharedEarlyDirection = 0.4;

    /// <summary>
    /// All-to-one poison that the whole set did not isolate sits in one label only: a large shift
    /// there that is this many times the strongest shift of any other label's group. Benign labels'
    /// strongest groups are alike (the top label over the runner-up at most 1.26 on the development
    /// cases, docs/results.md, "One label alone"); twice the next label, as a carrier label's share
    /// (<see cref="TriggerCarriers.OutstandingShareRatio"/>).
    /// </summary>
    public const double LoneShiftRatio = 2.0;

    /// <summary>The untargeted test's first part: a shift of at least <see cref="SharedShiftFloor"/> that recurs at <see cref="SharedDirection"/> where the classifier reads.</summary>
    public static bool RecursAcrossLabels(double? shift, double? agreement) => shift >= SharedShiftFloor && agreement >= SharedDirection;

    /// <summary>Fewer labels than this cannot show that a shift recurs across labels.</summary>
    public const int MinLabels = 3;

    /// <summary>What the search within labels did: every cluster weighed within a label, members as indices into the whole data set (flagged ones passed a test and carry the samples they were extended by); or, when the labels could not be searched, why.</summary>
    public sealed record Outcome(IReadOnlyList<SuspectCluster> Groups, string? NotSearched = null);

    /// <summary>Searches each label; see <see cref="Outcome"/>.</summary>
    /// <param name="excluded">Samples already flagged in the whole data set; they are left out of their labels.</param>
    public static Outcome Find(LatentFeatures features, int droppedLayers, IReadOnlyList<int> labels, IReadOnlyList<bool> excluded, DetectionOptions options, DenseMatrix? penultimate = null, CancellationToken cancellationToken = default)
    {
        if (labels.Count != features.Count) throw new ArgumentException($"{labels.Count} labels for {features.Count} samples", nameof(labels));
        if (excluded.Count != features.Count) throw new ArgumentException($"{excluded.Count} exclusions for {features.Count} samples", nameof(excluded));
        var groups = Enumerable.Range(0, labels.Count).Where(i => !excluded[i]).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => (Label: g.Key, Rows: g.ToArray())).ToList();
        var penultimateSpace = penultimate is null ? null : ReadSpace.Penultimate(penultimate);
        var inPenultimate = !options.LabelsInBatchNorm && penultimateSpace is not null;
        var read = inPenultimate ? penultimateSpace! : ReadSpace.LastLayer(features);
        var extendIn = penultimateSpace ?? read;
        // The last BatchNorm layer serves only with per-channel features (the per-layer
        // representation keeps one summary of it). A shift is compared across labels, and its
        // unexplained part needs more columns than the class means span.
        if (!inPenultimate && features.Representation != Representation.Channel)
            return new([], "per-layer features without the model's linear head keep no per-channel last layer to measure a label's groups in");
        if (groups.Count < MinLabels)
            return new([], $"{groups.Count} label(s) are too few to tell a trigger that recurs across labels (at least {MinLabels} needed); only islands of the whole set were searched, so all-to-all and untargeted poison can go unseen");
        if (read.Columns.Length <= groups.Count)
            return new([], $"the {read.Name} has {read.Columns.Length} columns, no more than the {groups.Count} labels, too few to separate a trigger from the class means");
        var clusterSpace = inPenultimate ? penultimate! : features.WithoutLastLayers(droppedLayers);
        var minClusterSize = options.MinClusterSizeFor(features.Count);
        var candidates = new List<Candidate>();
        foreach (var (label, rows) in groups)
            candidates.AddRange(ClusterLabel(clusterSpace, read, label, rows, minClusterSize, options, cancellationToken));
        var unexplained = new UnexplainedShift(read.Matrix, read.Columns, groups);
        foreach (var candidate in candidates) candidate.Unexplained = unexplained.Of(candidate.Members, candidate.LabelRows);
        // The first half of the BatchNorm layers, where a trigger is still a pattern of pixels.
        var firstLayers = Enumerable.Range(0, features.LayerOfColumn.Length).Where(c => features.LayerOfColumn[c] < (features.LayerCount + 1) / 2).ToArray();
        var unexplainedEarly = firstLayers.Length > groups.Count ? new UnexplainedShift(features.Features, firstLayers, groups) : null;
        var large = Decide(candidates, groups.Count, read, unexplainedEarly);
        return new(candidates
            .Select(c => new SuspectCluster(droppedLayers, c.Label, c.Members.Length, c.Flagged)
            {
                Members = c.Flagged ? GroupExtension.Extend(extendIn.Matrix, extendIn.Columns, c.Members, c.LabelRows) : c.Members,
                Suspicion = c.Flagged ? 1 : Math.Min(SuspectCluster.HighestUnflagged, Math.Max(c.Shift / large, c.Shift >= SharedShiftFloor ? c.Agreement : 0)),
                Shift = c.Shift,
                ShiftSpace = read.Name,
                LargeShiftBar = large,
                Agreement = c.Agreement,
                OtherLabelsShift = c.OtherLabelsShift,
                EarlyAgreement = c.EarlyAgreement,
                SharedEarlyAgreement = c.SharedEarlyAgreement,
            })
            .ToList());
    }

    /// <summary>
    /// Where a label's shift is read (the penultimate activations or the last BatchNorm layer's
    /// channels), with the relative bar that fits it, and whether a lone label's shift is weighed
    /// there: in the last BatchNorm layer benign labels' strongest groups differ more (among three
    /// labels of a clean set the strongest up to 3.6x the next, docs/results.md, "One label alone"),
    /// so the all-to-one test reads only the penultimate activations.
    /// </summary>
    private sealed record ReadSpace(string Name, DenseMatrix Matrix, int[] Columns, double LargeShiftOverTypical, bool WeighsLoneShifts)
    {
        public static ReadSpace Penultimate(DenseMatrix penultimate) =>
            new("penultimate activations", penultimate, Enumerable.Range(0, penultimate.Columns).ToArray(), LargeShiftOverTypicalPenultimate, WeighsLoneShifts: true);

        public static ReadSpace LastLayer(LatentFeatures features) =>
            new("last BatchNorm layer", features.Features, Enumerable.Range(0, features.LayerOfColumn.Length).Where(c => features.LayerOfColumn[c] == features.LayerCount - 1).ToArray(), LargeShiftOverTypicalLastLayer, WeighsLoneShifts: false);
    }

    private sealed record Candidate(int Label, int[] Members, int[] LabelRows, double[] Offset, double[] RestDeviation)
    {
        // RMS over the channels that vary within the label
        public double Shift { get; } = Math.Sqrt(Offset.Sum(o => o * o) / Math.Max(1, RestDeviation.Count(d => d >= GroupExtension.ConstantColumn)));
        public double[] Unexplained { get; set; } = [];
        public double Agreement { get; set; }
        public double? OtherLabelsShift { get; set; }
        public double[] UnexplainedEarly { get; set; } = [];
        public double? EarlyAgreement { get; set; }
        public double? SharedEarlyAgreement { get; set; }
        public bool Flagged { get; set; }
    }

    // Every cluster of the label's condensed tree that is a group of it, not most of it: from the
    // whole set's smallest cluster (a label's own fragments outlast a poisoned group when the size is
    // scaled down to a label) to half the label.
    private static IEnumerable<Candidate> ClusterLabel(DenseMatrix clusterSpace, ReadSpace read, int label, int[] rows, int minClusterSize, DetectionOptions options, CancellationToken cancellationToken)
    {
        if (rows.Length < 2 * minClusterSize) yield break;
        var embedding = StableSubspaceSearch.Embed(clusterSpace.TakeRows(rows), options, cancellationToken);
        var tree = new Hdbscan(new HdbscanOptions { MinClusterSize = minClusterSize }).Fit(embedding, cancellationToken: cancellationToken).CondensedTree;
        for (var cluster = tree.Root + 1; cluster < tree.Root + tree.ClusterCount; cluster++)
        {
            var points = tree.Points(cluster);
            if (points.Length < minClusterSize || points.Length > rows.Length / 2) continue;
            yield return MeasureShift(read, label, rows, points);
        }
    }

    // Per column where the shift is read, the group's mean minus the rest of its label's, in the rest's standard deviations.
    private static Candidate MeasureShift(ReadSpace read, int label, int[] rows, int[] points)
    {
        var (_, features, columns, _, _) = read;
        var inGroup = new bool[rows.Length];
        foreach (var p in points) inGroup[p] = true;
        var offset = new double[columns.Length];
        var restDeviation = new double[columns.Length];
        for (var q = 0; q < columns.Length; q++)
        {
            var column = columns[q];
            double group = 0, rest = 0;
            for (var p = 0; p < rows.Length; p++)
                if (inGroup[p]) group += features[rows[p], column]; else rest += features[rows[p], column];
            var restCount = rows.Length - points.Length;
            group /= points.Length;
            rest /= restCount;
            double variance = 0;
            for (var p = 0; p < rows.Length; p++)
                if (!inGroup[p]) variance += Square(features[rows[p], column] - rest);
            var deviation = Math.Sqrt(variance / restCount);
            restDeviation[q] = deviation;
            offset[q] = deviation < GroupExtension.ConstantColumn ? 0 : (group - rest) / deviation; // a channel constant within the label says nothing
        }
        return new Candidate(label, points.Select(p => rows[p]).ToArray(), rows, offset, restDeviation);
    }

    // Three ways a label's group shows a trigger. All-to-all: a large shift in at least half the labels
    // at once (each label's poison comes from another class, so the directions differ where the
    // classifier reads), whose unexplained part in the first layers recurs among the other labels'
    // large shifts (one trigger in the input; benign groups that look like another class shift each
    // their own way there). Shared trigger (untargeted): a smaller shift whose unexplained part points
    // the same way in the median other label, where the classifier reads and in the first layers.
    // All-to-one: a large shift in one label that no other label comes near.
    // Flags the candidates and returns the shift that counted as large.
    private static double Decide(List<Candidate> candidates, int labelCount, ReadSpace read, UnexplainedShift? unexplainedEarly)
    {
        foreach (var candidate in candidates) candidate.Agreement = MedianLabelsBest(candidate, candidates, c => c.Unexplained);
        var typical = candidates.Count == 0 ? 0 : candidates.Select(c => c.Shift).Order().ElementAt(candidates.Count / 2);
        var large = Math.Max(LargeShift, read.LargeShiftOverTypical * typical);
        var largeShifts = candidates.Where(c => c.Shift >= large).ToList();
        if (unexplainedEarly is not null)
        {
            foreach (var candidate in largeShifts) candidate.UnexplainedEarly = unexplainedEarly.Of(candidate.Members, candidate.LabelRows);
            foreach (var candidate in largeShifts) candidate.EarlyAgreement = MedianLabelsBest(candidate, largeShifts, c => c.UnexplainedEarly);
        }
        var triggered = largeShifts.Where(c => c.EarlyAgreement >= SharedEarlyDirection).ToList();
        var allToAll = 2 * triggered.Select(c => c.Label).Distinct().Count() >= labelCount;
        // Untargeted: the shared shift must recur in the first layers too. Relabelled images that the
        // model did not learn (label noise, an untargeted backdoor it failed to learn) also shift every
        // label the same way where the classifier reads (away from the label's own class), but in the
        // first layers they are just images of other classes, each label's of its own mix. Where the
        // first layers have too few columns to tell (per-layer features), neither test flags.
        var shared = candidates.Where(c => RecursAcrossLabels(c.Shift, c.Agreement)).ToList();
        if (unexplainedEarly is not null)
        {
            foreach (var candidate in shared.Except(largeShifts)) candidate.UnexplainedEarly = unexplainedEarly.Of(candidate.Members, candidate.LabelRows);
            foreach (var candidate in shared) candidate.SharedEarlyAgreement = MedianLabelsBest(candidate, shared, c => c.UnexplainedEarly);
        }
        var untargeted = shared.Where(c => c.SharedEarlyAgreement >= SharedEarlyDirection).ToList();
        var strongest = candidates.GroupBy(c => c.Label).ToDictionary(g => g.Key, g => g.Max(c => c.Shift));
        if (read.WeighsLoneShifts && strongest.Count >= MinLabels)
            foreach (var candidate in candidates) candidate.OtherLabelsShift = strongest.Where(s => s.Key != candidate.Label).Max(s => s.Value);
        // All-to-one: a large shift LoneShiftRatio times any other label's.
        var lone = candidates.Where(c => c.Shift >= large && c.Shift >= LoneShiftRatio * c.OtherLabelsShift).ToList();
        foreach (var candidate in candidates)
            candidate.Flagged = (allToAll && triggered.Contains(candidate)) || untargeted.Contains(candidate) || lone.Contains(candidate);
        return large;
    }

    // Over the other labels, the best cosine of the candidate's direction with one of theirs; the median of those.
    private static double MedianLabelsBest(Candidate candidate, IEnumerable<Candidate> others, Func<Candidate, double[]> direction)
    {
        var best = others.Where(o => o.Label != candidate.Label).GroupBy(o => o.Label)
            .Select(g => g.Max(o => Cosine(direction(candidate), direction(o)))).Order().ToArray();
        return best.Length == 0 ? 0 : Math.Max(0, best[best.Length / 2]);
    }

    /// <summary>
    /// The part of a group's shift that no class explains. A benign group of a label mostly differs
    /// from the rest by looking more like some other class, a shift within the span of the class
    /// means; a trigger adds a direction of its own, the same in every label. In channels
    /// standardised over the samples searched, the shift minus its projection on the span of the
    /// label means (samples the whole set flagged left out: an island would tilt its label's mean).
    /// </summary>
    private sealed class UnexplainedShift
    {
        private readonly DenseMatrix features;
        private readonly int[] columns;
        private readonly double[] deviation;
        private readonly List<double[]> classBasis = [];

        public UnexplainedShift(DenseMatrix features, int[] columns, IReadOnlyList<(int Label, int[] Rows)> labels)
        {
            var all = labels.SelectMany(l => l.Rows).ToArray();
            this.features = features;
            this.columns = columns;
            var mean = new double[columns.Length];
            deviation = new double[columns.Length];
            for (var q = 0; q < columns.Length; q++)
            {
                double sum = 0, squares = 0;
                foreach (var i in all) sum += features[i, columns[q]];
                mean[q] = sum / all.Length;
                foreach (var i in all) squares += Square(features[i, columns[q]] - mean[q]);
                deviation[q] = Math.Sqrt(squares / all.Length);
            }
            foreach (var (_, rows) in labels)
            {
                var labelMean = Standardised(rows);
                for (var q = 0; q < columns.Length; q++)
                    if (deviation[q] >= GroupExtension.ConstantColumn) labelMean[q] -= mean[q] / deviation[q];
                var rest = Orthogonalise(labelMean);
                var norm = Math.Sqrt(rest.Sum(x => x * x));
                if (norm > GroupExtension.ConstantColumn) classBasis.Add(rest.Select(x => x / norm).ToArray());
            }
        }

        /// <summary>The unexplained part of the shift of a label's group (members) from the rest of its label (labelRows).</summary>
        public double[] Of(int[] members, int[] labelRows)
        {
            var group = Standardised(members);
            var rest = Standardised(labelRows.Except(members).ToArray());
            return Orthogonalise(group.Select((g, q) => g - rest[q]).ToArray());
        }

        // The mean of the rows per column, in the whole set's standard deviations (not centred).
        private double[] Standardised(int[] rows)
        {
            var result = new double[columns.Length];
            for (var q = 0; q < columns.Length; q++)
            {
                if (deviation[q] < GroupExtension.ConstantColumn) continue;
                double sum = 0;
                foreach (var row in rows) sum += features[row, columns[q]];
                result[q] = sum / rows.Length / deviation[q];
            }
            return result;
        }

        private double[] Orthogonalise(double[] vector)
        {
            var result = (double[])vector.Clone();
            foreach (var basis in classBasis)
            {
                double dot = 0;
                for (var q = 0; q < result.Length; q++) dot += result[q] * basis[q];
                for (var q = 0; q < result.Length; q++) result[q] -= dot * basis[q];
            }
            return result;
        }
    }

    private static double Cosine(double[] a, double[] b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++) { dot += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return aa == 0 || bb == 0 ? 0 : dot / Math.Sqrt(aa * bb);
    }

    private static double Square(double x) => x * x;
}
