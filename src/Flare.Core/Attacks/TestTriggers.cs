using Flare.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Attacks;

/// <summary>
/// The test-time trigger applied to batches: 8-bit or float arrays of N images (N x C x H x W,
/// floats in [0, 1]), tensors of that shape, or a test set. All go through
/// <see cref="IBackdoorAttack.TriggerTestImage(Span{byte})"/> or its float twin, the code that
/// writes OUT/test-poisoned.
/// </summary>
public static class TestTriggers
{
    public static void Apply(IBackdoorAttack attack, Span<byte> images)
    {
        var size = ImageBytes(attack, images.Length);
        for (var start = 0; start < images.Length; start += size) attack.TriggerTestImage(images.Slice(start, size));
    }

    public static void Apply(IBackdoorAttack attack, Span<float> images)
    {
        var size = ImageBytes(attack, images.Length);
        for (var start = 0; start < images.Length; start += size) attack.TriggerTestImage(images.Slice(start, size));
    }

    /// <summary>A triggered copy of a float tensor N x 3 x H x W with values in [0, 1] (before normalization).</summary>
    public static Tensor Apply(IBackdoorAttack attack, Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != ImageSet.Channels || images.shape[2] != attack.Height || images.shape[3] != attack.Width)
            throw new ArgumentException($"expected a tensor N x 3 x {attack.Height} x {attack.Width}, got [{string.Join(", ", images.shape)}]", nameof(images));
        var values = images.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        Apply(attack, values.AsSpan());
        return torch.tensor(values, images.shape).to(images.device);
    }

    private static int ImageBytes(IBackdoorAttack attack, int length)
    {
        var size = ImageSet.Channels * attack.Height * attack.Width;
        if (length % size != 0) throw new ArgumentException($"a batch of 3 x {attack.Height} x {attack.Width} images must hold a multiple of {size} values, got {length}");
        return size;
    }
}

/// <summary>
/// The triggered copy of a test set: every image whose label the attack changes, with the
/// test-time trigger, labelled with <see cref="LabelMode.TestLabel"/> (the attack's label, or the
/// true label for untargeted attacks); <see cref="TrueLabels"/> keeps the true labels for the ASR.
/// </summary>
public sealed record TriggeredTestSet(ImageSet Images, int[] TrueLabels, int[] SourceIndices)
{
    public static TriggeredTestSet Build(ImageSet clean, IBackdoorAttack attack, LabelMode mode)
    {
        if (clean.Height != attack.Height || clean.Width != attack.Width)
            throw new FlareException($"test images are {clean.Width}x{clean.Height} but the attack's trigger is for {attack.Width}x{attack.Height}");
        if (clean.ClassNames.Count != mode.Classes)
            throw new FlareException($"test images have {clean.ClassNames.Count} classes but the attack was made for {mode.Classes}");
        var indices = Enumerable.Range(0, clean.Count).Where(i => mode.Changes(clean.Labels[i])).ToArray();
        var selected = clean.Select(indices);
        Parallel.For(0, selected.Count, i => attack.TriggerTestImage(selected.Image(i)));
        var trueLabels = indices.Select(i => clean.Labels[i]).ToArray();
        var images = new ImageSet(selected.Height, selected.Width, selected.Pixels,
            trueLabels.Select(mode.TestLabel).ToArray(), clean.ClassNames, selected.SourcePaths, clean.Root);
        return new TriggeredTestSet(images, trueLabels, indices);
    }
}
