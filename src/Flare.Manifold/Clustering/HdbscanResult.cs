using System.Globalization;
using System.Text;

namespace Flare.Manifold.Clustering;

/// <summary>Everything an HDBSCAN run produces, each step's output kept for inspection.</summary>
public sealed class HdbscanResult
{
    internal HdbscanResult(
        int[] labels,
        float[] probabilities,
        int[] selectedClusters,
        CoreDistances coreDistances,
        MinimumSpanningTree minimumSpanningTree,
        SingleLinkageTree singleLinkageTree,
        CondensedTree condensedTree)
    {
        Labels = labels;
        Probabilities = probabilities;
        SelectedClusters = selectedClusters;
        CoreDistances = coreDistances;
        MinimumSpanningTree = minimumSpanningTree;
        SingleLinkageTree = singleLinkageTree;
        CondensedTree = condensedTree;
    }

    /// <summary>Cluster label per point, 0-based, -1 for noise.</summary>
    public int[] Labels { get; }

    /// <summary>hdbscan's probabilities_: membership strength in [0, 1], 0 for noise.</summary>
    public float[] Probabilities { get; }

    /// <summary>The condensed-tree node behind each label: label i is SelectedClusters[i].</summary>
    public int[] SelectedClusters { get; }

    public int ClusterCount => SelectedClusters.Length;

    public CoreDistances CoreDistances { get; }

    public MinimumSpanningTree MinimumSpanningTree { get; }

    public SingleLinkageTree SingleLinkageTree { get; }

    public CondensedTree CondensedTree { get; }

    /// <summary>CSV with header index,label.</summary>
    public string LabelsToCsv() => LabelsToCsv(Labels);

    /// <summary>CSV with header index,label for any labelling (e.g. a <see cref="SingleLinkageTree.Cut"/>).</summary>
    public static string LabelsToCsv(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var text = new StringBuilder("index,label\n");
        for (int i = 0; i < labels.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i},{labels[i]}\n");
        }

        return text.ToString();
    }
}
