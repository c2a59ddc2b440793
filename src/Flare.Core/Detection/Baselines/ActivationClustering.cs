using Flare.Progress;

namespace Flare.Detection.Baselines;

/// <summary>
/// Activation Clustering (Chen et al. 2018). Per training label: the penultimate activations,
/// centred and projected on their top 10 singular vectors, split by k-means with k = 2; the
/// smaller cluster is flagged when it holds less than 35 % of the label (size analysis, no
/// silhouette check), as in backdoor-toolbox cleansers_tool_box/activation_clustering.py and ART's
/// ActivationDefence. Score: 1 minus the share of its label the sample's cluster holds.
/// </summary>
public sealed class ActivationClustering : IPoisonDetector
{
    public const int Components = 10;
    public const double SizeThreshold = 0.35;
    private const int Restarts = 10;
    private const int Iterations = 300;

    public string Name => "ac";

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var classNames = input.Evidence.Images.ClassNames;
        var notes = new List<string>();
        var (flagged, scores) = ClassFeatures.PerLabel(input.Evidence, progress, "activation clustering", 2, block =>
        {
            var n = block.Rows.Length;
            var assignment = TwoMeans(block.Principal(Components), SeededRandom.ForStream(input.Seed, (ulong)block.Label));
            var sizes = new int[2];
            foreach (var a in assignment) sizes[a]++;
            var smaller = sizes[0] <= sizes[1] ? 0 : 1;
            var share = (double)sizes[smaller] / n;
            var poisoned = share < SizeThreshold;
            if (poisoned) notes.Add($"{classNames[block.Label]}: smaller cluster {sizes[smaller]} of {n} ({100 * share:F1} % < {100 * SizeThreshold:F0} %) flagged");
            return new LabelVerdict(
                assignment.Select(a => 1 - (double)sizes[a] / n).ToArray(),
                assignment.Select(a => poisoned && a == smaller).ToArray());
        }, cancellationToken);
        if (notes.Count == 0) notes.Add($"no label has a k-means cluster below {100 * SizeThreshold:F0} % of it");
        return new DetectorOutcome(flagged, scores, notes);
    }

    // Lloyd's k-means with k = 2 and k-means++ seeding, best of several restarts by inertia.
    private static int[] TwoMeans(double[,] points, SeededRandom random)
    {
        var (n, d) = (points.GetLength(0), points.GetLength(1));
        int[]? best = null;
        var bestInertia = double.PositiveInfinity;
        for (var restart = 0; restart < Restarts; restart++)
        {
            var centres = new double[2, d];
            var first = random.NextInt(n);
            for (var c = 0; c < d; c++) centres[0, c] = points[first, c];
            var distances = new double[n];
            var total = 0.0;
            for (var i = 0; i < n; i++) total += distances[i] = Distance(points, i, centres, 0);
            var target = random.NextDouble() * total;
            var second = n - 1;
            for (var i = 0; i < n; i++)
            {
                target -= distances[i];
                if (target <= 0) { second = i; break; }
            }
            for (var c = 0; c < d; c++) centres[1, c] = points[second, c];
            var assignment = new int[n];
            var inertia = 0.0;
            for (var iteration = 0; iteration < Iterations; iteration++)
            {
                var changed = iteration == 0;
                inertia = 0;
                for (var i = 0; i < n; i++)
                {
                    var d0 = Distance(points, i, centres, 0);
                    var d1 = Distance(points, i, centres, 1);
                    var a = d1 < d0 ? 1 : 0;
                    if (a != assignment[i]) changed = true;
                    assignment[i] = a;
                    inertia += Math.Min(d0, d1);
                }
                if (!changed) break;
                var sums = new double[2, d];
                var counts = new int[2];
                for (var i = 0; i < n; i++)
                {
                    counts[assignment[i]]++;
                    for (var c = 0; c < d; c++) sums[assignment[i], c] += points[i, c];
                }
                for (var k = 0; k < 2; k++)
                    if (counts[k] > 0)
                        for (var c = 0; c < d; c++) centres[k, c] = sums[k, c] / counts[k];
            }
            if (inertia < bestInertia) (bestInertia, best) = (inertia, assignment);
        }
        return best!;
    }

    private static double Distance(double[,] points, int i, double[,] centres, int k)
    {
        var sum = 0.0;
        for (var c = 0; c < points.GetLength(1); c++)
        {
            var diff = points[i, c] - centres[k, c];
            sum += diff * diff;
        }
        return sum;
    }
}
