using Flare.Detection;
using Flare.IO;

namespace Flare.Cli.Commands;

/// <summary>Saves both representations so that flare umap and flare hdbscan can be run on them by hand.</summary>
internal static class FeatureFiles
{
    public static void Save(OutputFolder folder, ExtractedFeatures features)
    {
        features.PerChannel.Save(folder.File("features-channel.npy"), folder.File("features-channel-layers.csv"));
        features.PerLayer.Save(folder.File("features-layer.npy"), folder.File("features-layer-layers.csv"));
    }
}
