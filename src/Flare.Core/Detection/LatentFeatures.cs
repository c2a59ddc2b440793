using System.Globalization;
using System.Text;
using Flare.IO;
using Flare.Manifold;

namespace Flare.Detection;

/// <summary>
/// FLARE's latent representation of every sample: an N x D matrix whose columns are grouped by
/// BatchNorm layer in forward order, with the layer each column came from. Dropping the last k
/// layers (the stable-subspace search) is a column prefix.
/// </summary>
public sealed class LatentFeatures
{
    public LatentFeatures(DenseMatrix features, int[] layerOfColumn, Representation representation)
    {
        if (layerOfColumn.Length != features.Columns) throw new ArgumentException("one layer index per column is required", nameof(layerOfColumn));
        for (var c = 1; c < layerOfColumn.Length; c++)
            if (layerOfColumn[c] < layerOfColumn[c - 1]) throw new ArgumentException("columns must be grouped by layer in order", nameof(layerOfColumn));
        Features = features;
        LayerOfColumn = layerOfColumn;
        Representation = representation;
        LayerCount = layerOfColumn.Length == 0 ? 0 : layerOfColumn[^1] + 1;
    }

    public DenseMatrix Features { get; }
    public int[] LayerOfColumn { get; }
    public Representation Representation { get; }
    public int LayerCount { get; }
    public int Count => Features.Rows;

    /// <summary>The features of the first LayerCount - k layers.</summary>
    public DenseMatrix WithoutLastLayers(int k)
    {
        if (k < 0 || k >= LayerCount) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [0, {LayerCount - 1}]");
        var keep = Array.FindIndex(LayerOfColumn, layer => layer >= LayerCount - k);
        return Features.TakeColumns(keep < 0 ? Features.Columns : keep);
    }

    /// <summary>Writes features.npy (float32, N x D) and a CSV naming each column's layer.</summary>
    public void Save(string featuresPath, string layersPath)
    {
        OutputFiles.BeforeWrite(featuresPath);
        Npy.Write(featuresPath, Features);
        var text = new StringBuilder("column,layer\n");
        for (var c = 0; c < LayerOfColumn.Length; c++) text.Append(CultureInfo.InvariantCulture, $"{c},{LayerOfColumn[c]}\n");
        OutputFiles.WriteAllText(layersPath, text.ToString());
    }
}
