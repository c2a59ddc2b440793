namespace Flare.Manifold.Metrics;

/// <summary>Adjusted Rand index of two labelings (Hubert and Arabie): 1 for identical partitions, about 0 for chance agreement.</summary>
public static class AdjustedRandIndex
{
    public static double Compute(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        if (truth.Length != predicted.Length)
        {
            throw new ArgumentException($"label arrays differ in length ({truth.Length} vs {predicted.Length}).", nameof(predicted));
        }

        var pairs = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var columns = new Dictionary<int, long>();
        for (int i = 0; i < truth.Length; i++)
        {
            var key = (truth[i], predicted[i]);
            pairs[key] = pairs.GetValueOrDefault(key) + 1;
            rows[truth[i]] = rows.GetValueOrDefault(truth[i]) + 1;
            columns[predicted[i]] = columns.GetValueOrDefault(predicted[i]) + 1;
        }

        static double Choose2(long x) => x * (x - 1) / 2.0;
        double index = pairs.Values.Sum(Choose2);
        double rowSum = rows.Values.Sum(Choose2);
        double columnSum = columns.Values.Sum(Choose2);
        double expected = rowSum * columnSum / Choose2(truth.Length);
        double maximum = (rowSum + columnSum) / 2;
        return maximum == expected ? 1.0 : (index - expected) / (maximum - expected);
    }
}
