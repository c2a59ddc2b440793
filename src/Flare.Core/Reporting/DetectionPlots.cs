using Flare.Detection;
using Flare.IO;
using Flare.Manifold;
using Flare.Manifold.Clustering;
using ScottPlot;

namespace Flare.Reporting;

/// <summary>PNG plots of a detection: the 2-D embedding coloured by cluster and by ground truth, and the condensed tree.</summary>
public static class DetectionPlots
{
    private const int PlotWidth = 900;
    private const int PlotHeight = 700;
    private static readonly Color Benign = Color.FromHex("#4C72B0");
    private static readonly Color Suspicious = Color.FromHex("#C44E52");
    private static readonly Color Noise = Color.FromHex("#B0B0B0");

    /// <summary>The embedding with each primary cluster in its own colour and flagged samples in red.</summary>
    public static void EmbeddingByCluster(string path, DenseMatrix embedding, DetectionResult result)
    {
        var plot = NewPlot($"UMAP embedding by cluster ({result.Representation.ToName()} features, k = {result.Shown.DroppedLayers})");
        var palette = new ScottPlot.Palettes.Category10();
        var clusters = result.PrimaryCluster.Distinct().Order().ToList();
        var colourIndex = 0;
        foreach (var cluster in clusters)
        {
            var members = Enumerable.Range(0, result.PrimaryCluster.Length).Where(i => result.PrimaryCluster[i] == cluster && !result.Flagged[i]).ToArray();
            if (members.Length == 0) continue;
            var colour = cluster < 0 ? Noise : palette.GetColor(colourIndex++ % 10);
            AddPoints(plot, embedding, members, colour, cluster < 0 ? $"outside the primary clusters ({members.Length})" : $"cluster {cluster} ({members.Length})");
        }
        var flagged = Enumerable.Range(0, result.Flagged.Length).Where(i => result.Flagged[i]).ToArray();
        if (flagged.Length > 0) AddPoints(plot, embedding, flagged, Suspicious, $"flagged as poisoned ({flagged.Length})");
        plot.ShowLegend(Alignment.UpperRight);
        OutputFiles.BeforeWrite(path);
        plot.SavePng(path, PlotWidth, PlotHeight);
    }

    /// <summary>The embedding coloured by the manifest's ground truth.</summary>
    public static void EmbeddingByTruth(string path, DenseMatrix embedding, IReadOnlyList<bool> poisoned)
    {
        var plot = NewPlot("UMAP embedding by ground truth");
        var clean = Enumerable.Range(0, poisoned.Count).Where(i => !poisoned[i]).ToArray();
        var bad = Enumerable.Range(0, poisoned.Count).Where(i => poisoned[i]).ToArray();
        AddPoints(plot, embedding, clean, Benign, $"clean ({clean.Length})");
        if (bad.Length > 0) AddPoints(plot, embedding, bad, Suspicious, $"poisoned ({bad.Length})");
        plot.ShowLegend(Alignment.UpperRight);
        OutputFiles.BeforeWrite(path);
        plot.SavePng(path, PlotWidth, PlotHeight);
    }

    /// <summary>
    /// The condensed tree as an icicle: each cluster is a bar as wide as its size at birth, spanning
    /// its density levels from birth (top) to death (bottom); the poisoned clusters are red.
    /// </summary>
    public static void CondensedTreeIcicle(string path, CondensedTree tree, IReadOnlyCollection<int> poisonedClusters)
    {
        var plot = NewPlot("HDBSCAN condensed tree (bar height = persistence in lambda)");
        var deepest = Enumerable.Range(tree.Root, tree.ClusterCount).Max(tree.DeathLambda);
        void Draw(int cluster, double left, double width, bool underPoisoned)
        {
            var isPoisoned = underPoisoned || poisonedClusters.Contains(cluster);
            var birth = tree.BirthLambda(cluster);
            var death = Math.Max(tree.DeathLambda(cluster), birth + deepest * 1e-3);
            var bar = plot.Add.Rectangle(left, left + width * 0.98, -death, -birth);
            bar.FillStyle.Color = (isPoisoned ? Suspicious : Benign).WithAlpha(0.75);
            bar.LineStyle.Width = 0;
            var children = tree.ChildClusters(cluster);
            var total = children.Sum(tree.Size);
            var offset = left;
            foreach (var child in children)
            {
                var share = width * tree.Size(child) / Math.Max(total, 1);
                Draw(child, offset, share, isPoisoned);
                offset += share;
            }
        }
        Draw(tree.Root, 0, tree.PointCount, false);
        plot.XLabel("samples (width proportional to cluster size)");
        plot.YLabel("-lambda (density level grows downward)");
        OutputFiles.BeforeWrite(path);
        plot.SavePng(path, PlotWidth, PlotHeight);
    }

    private static Plot NewPlot(string title)
    {
        var plot = new Plot();
        plot.Title(title);
        return plot;
    }

    private static void AddPoints(Plot plot, DenseMatrix embedding, int[] members, Color colour, string label)
    {
        var xs = members.Select(i => (double)embedding[i, 0]).ToArray();
        var ys = members.Select(i => (double)embedding[i, 1]).ToArray();
        var points = plot.Add.ScatterPoints(xs, ys);
        points.Color = colour.WithAlpha(0.6);
        points.MarkerSize = 2;
        points.LegendText = label;
    }
}
