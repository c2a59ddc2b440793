using Flare.Data;
using Flare.Detection;
using Flare.Models;
using Flare.Progress;
using Flare.Training;

namespace Flare.Tests.Support;

/// <summary>
/// Small fixtures for the detector contract, each with a model trained on it: a set whose classes
/// differ by faint stripe textures in strong noise (so clean predictions have small margins), with about 30 samples carrying a red-and-blue
/// checker patch in a corner and relabelled to class 0 (a planted, separable poison island the
/// model learns), the same set without poison, and a clean reserve set from the same distribution.
/// Amplifying the pixels (SCALE-UP, MSPC) saturates the textures but not the patch, as with a
/// BadNets patch on natural images.
/// </summary>
public sealed class PlantedPoisonFixture : IDisposable
{
    public const int Classes = 6;
    public const int PerClass = 100;
    public const int Size = 16;
    public const int PatchSize = 5;
    private const double PoisonShareOfOthers = 0.06;

    public PlantedPoisonFixture()
    {
        (Poisoned, Truth) = Create(seed: 11, poison: true);
        (Clean, _) = Create(seed: 12, poison: false);
        (Reserve, _) = Create(seed: 13, poison: false, perClass: 40);
        PoisonedModel = Train(Poisoned);
        CleanModel = Train(Clean);
        PoisonedEvidence = new ModelEvidence(PoisonedModel.Model, PoisonedModel.Metadata, Poisoned);
        CleanEvidence = new ModelEvidence(CleanModel.Model, CleanModel.Metadata, Clean);
    }

    public ImageSet Poisoned { get; }
    public bool[] Truth { get; }
    public ImageSet Clean { get; }
    public ImageSet Reserve { get; }
    public TrainingResult PoisonedModel { get; }
    public TrainingResult CleanModel { get; }

    /// <summary>Each model's cached features, shared by every detector run (detectors must leave the model as they found it).</summary>
    public ModelEvidence PoisonedEvidence { get; }
    public ModelEvidence CleanEvidence { get; }

    private readonly Dictionary<string, DetectorOutcome> plantedRuns = [];

    /// <summary>A detector's first run on the planted set, reused by the tests that need one (each detector's run is the slow part).</summary>
    public DetectorOutcome PlantedRun(string name, Func<DetectorOutcome> run)
    {
        if (!plantedRuns.TryGetValue(name, out var outcome)) plantedRuns[name] = outcome = run();
        return outcome;
    }

    public void Dispose()
    {
        PoisonedModel.Model.Dispose();
        CleanModel.Model.Dispose();
    }

    private static TrainingResult Train(ImageSet images) => Trainer.Train(images, new TrainingOptions
    {
        Model = ModelRegistry.DefaultName, Width = 8, Epochs = 8, BatchSize = 32, LearningRate = 0.05, Augmentation = Augmentation.None, Seed = 3,
    }, SilentProgress.Instance);

    private static (ImageSet Images, bool[] Poisoned) Create(ulong seed, bool poison, int perClass = PerClass)
    {
        var random = new SeededRandom(seed);
        var count = perClass * Classes;
        var plane = Size * Size;
        var pixels = new byte[count * ImageSet.Channels * plane];
        var labels = new int[count];
        var poisoned = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var label = i % Classes;
            var image = pixels.AsSpan(i * ImageSet.Channels * plane, ImageSet.Channels * plane);
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    var level = Stripe(label, y, x) ? 175 : 135;
                    for (var c = 0; c < ImageSet.Channels; c++)
                        image[c * plane + y * Size + x] = (byte)Math.Clamp(level + random.NextInt(81) - 40, 0, 255);
                }
            labels[i] = label;
            if (poison && label != 0 && random.NextDouble() < PoisonShareOfOthers)
            {
                for (var y = Size - PatchSize; y < Size; y++)
                    for (var x = Size - PatchSize; x < Size; x++)
                    {
                        var red = (x + y) % 2 == 0;
                        image[y * Size + x] = (byte)(red ? 255 : 0);
                        image[plane + y * Size + x] = 0;
                        image[2 * plane + y * Size + x] = (byte)(red ? 0 : 255);
                    }
                labels[i] = 0;
                poisoned[i] = true;
            }
        }
        var paths = Enumerable.Range(0, count).Select(i => $"image{i:D4}.png").ToArray();
        var names = Enumerable.Range(0, Classes).Select(c => $"class{c}").ToArray();
        return (new ImageSet(Size, Size, pixels, labels, names, paths, null), poisoned);
    }

    // Each class its own stripes: horizontal, vertical, two diagonals, coarse blocks, wide horizontal.
    private static bool Stripe(int label, int y, int x) => label switch
    {
        0 => y / 2 % 2 == 0,
        1 => x / 2 % 2 == 0,
        2 => (x + y) / 2 % 2 == 0,
        3 => (x - y + Size) / 2 % 2 == 0,
        4 => (x / 4 + y / 4) % 2 == 0,
        _ => y / 4 % 2 == 0,
    };
}
