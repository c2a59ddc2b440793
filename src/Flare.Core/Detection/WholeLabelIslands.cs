namespace Flare.Detection;

/// <summary>
/// Tells an island of the whole data set that is classes apart from one that may be poison. A class
/// the model sets apart from all others (Fashion-MNIST's trousers, or its three kinds of footwear
/// together) splits off as far as a trigger's samples do. But poison joins a label, it does not
/// replace it: a poisoned island leaves its label's own class outside (all-to-one: the target's
/// images; all-to-all and untargeted: the labels' own classes; clean-label: the target images that
/// carry no trigger). So an island is taken for classes when the labels it holds whole, those with
/// less than <see cref="LeftOutside"/> of a typical label outside it, make up most of it. Measured
/// margins: docs/results.md, "Islands that are whole classes".
/// </summary>
public sealed class WholeLabelIslands
{
    /// <summary>
    /// The share of the median label's size that a label must keep outside an island not to count as
    /// held whole by it: half a class, in the gap between class and poisoned islands measured in
    /// docs/results.md, "Islands that are whole classes".
    /// </summary>
    public const double LeftOutside = 0.5;

    private readonly IReadOnlyList<int> labels;
    private readonly Dictionary<int, int> labelSizes;
    private readonly double typicalLabel;

    public WholeLabelIslands(IReadOnlyList<int> labels)
    {
        this.labels = labels;
        labelSizes = labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var sizes = labelSizes.Values.Order().ToArray();
        typicalLabel = sizes.Length == 0 ? 0 : sizes[sizes.Length / 2];
    }

    /// <summary>"label 1" or "labels 5, 7, 9", as reasons and reports name them.</summary>
    public static string Name(IReadOnlyList<int> labels) => $"label{(labels.Count > 1 ? "s" : "")} {string.Join(", ", labels)}";

    /// <summary>The labels the island holds whole when together they make up most of its members (a class island); otherwise none.</summary>
    public IReadOnlyList<int> Of(IReadOnlyList<int> members)
    {
        var whole = members.GroupBy(m => labels[m])
            .Where(g => labelSizes[g.Key] - g.Count() < LeftOutside * typicalLabel)
            .Select(g => (Label: g.Key, Inside: g.Count()))
            .ToList();
        return 2 * whole.Sum(w => w.Inside) > members.Count ? whole.Select(w => w.Label).Order().ToArray() : [];
    }
}
