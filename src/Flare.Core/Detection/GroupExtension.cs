using Flare.Manifold;

namespace Flare.Detection;

/// <summary>
/// A flagged cluster holds the core of a label's poison, not all of it: the rest sits between the core
/// and the label (faint triggers, a trigger the model learned less firmly). On the line from the rest
/// of the label to the core (their mean difference over the rest's variance per column: a diagonal
/// discriminant), a sample of the label joins the core where the core's spread along that line, weighed
/// by its size, explains the sample better than the rest's (two one-dimensional normals with the groups'
/// sizes as priors). Drawn where the classifier reads, the input of the model's last linear layer: a
/// poisoned sample reaches its label only through what the trigger adds there (for models Flare
/// cannot read there, the within-label stage draws it in the last BatchNorm layer, and islands are not
/// extended: along that layer the line took in clean samples). The within-label stage extends its
/// groups this way, and the whole set's islands are extended within each label they hold.
/// docs/results.md, "Extending a label's group" and "Extending the whole set's island".
/// </summary>
public static class GroupExtension
{
    /// <summary>The core (members) and the samples of its label (labelRows) that join it, in <paramref name="columns"/> of <paramref name="space"/>.</summary>
    public static int[] Extend(DenseMatrix space, int[] columns, int[] members, int[] labelRows)
    {
        var inCore = new HashSet<int>(members);
        var rest = labelRows.Where(r => !inCore.Contains(r)).ToArray();
        var weight = new double[columns.Length];
        var restMean = new double[columns.Length];
        for (var q = 0; q < columns.Length; q++)
        {
            var column = columns[q];
            restMean[q] = rest.Average(r => (double)space[r, column]);
            var variance = rest.Sum(r => Square(space[r, column] - restMean[q])) / rest.Length;
            // a column constant within the label says nothing
            if (variance >= Square(ConstantColumn)) weight[q] = (members.Average(r => (double)space[r, column]) - restMean[q]) / variance;
        }
        var position = new Dictionary<int, double>();
        foreach (var row in labelRows)
        {
            double projection = 0;
            for (var q = 0; q < columns.Length; q++) projection += weight[q] * (space[row, columns[q]] - restMean[q]);
            position[row] = projection;
        }
        var inside = Normal.Fit(members.Select(r => position[r]));
        var outside = Normal.Fit(rest.Select(r => position[r]));
        var joined = new HashSet<int>(members);
        foreach (var row in labelRows)
            if (position[row] > outside.Mean && inside.LogDensity(position[row]) + Math.Log(inside.Count) > outside.LogDensity(position[row]) + Math.Log(outside.Count))
                joined.Add(row);
        return joined.Order().ToArray();
    }

    /// <summary>
    /// A whole-set island extended within each label that holds a group of it (at least
    /// <paramref name="minGroupSize"/> of its members, with as many of the label's samples outside it),
    /// along the penultimate activations. Labels holding fewer of its members are left as they are.
    /// </summary>
    public static int[] ExtendIsland(DenseMatrix penultimate, IReadOnlyList<int> labels, int[] island, int minGroupSize)
    {
        if (labels.Count != penultimate.Rows) throw new ArgumentException($"{labels.Count} labels for {penultimate.Rows} samples", nameof(labels));
        var inIsland = new HashSet<int>(island);
        var columns = Enumerable.Range(0, penultimate.Columns).ToArray();
        var extended = new HashSet<int>(island);
        foreach (var label in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]))
        {
            var rows = label.ToArray();
            var members = rows.Where(inIsland.Contains).ToArray();
            if (members.Length < minGroupSize || rows.Length - members.Length < minGroupSize) continue;
            extended.UnionWith(Extend(penultimate, columns, members, rows));
        }
        return extended.Order().ToArray();
    }

    private readonly record struct Normal(double Mean, double Deviation, int Count)
    {
        public static Normal Fit(IEnumerable<double> values)
        {
            var list = values.ToList();
            var mean = list.Average();
            return new Normal(mean, Math.Max(Math.Sqrt(list.Sum(v => Square(v - mean)) / list.Count), ConstantColumn), list.Count);
        }

        public double LogDensity(double x) => -Math.Log(Deviation) - Square(x - Mean) / (2 * Square(Deviation));
    }

    /// <summary>A column whose spread within a label is below this is constant there and says nothing.</summary>
    internal const double ConstantColumn = 1e-6;

    private static double Square(double x) => x * x;
}
