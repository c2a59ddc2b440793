using System.Buffers;

namespace Flare.Attacks;

/// <summary>
/// Base of the attacks: each implements its trigger once, on float images in [0, 1]; the 8-bit
/// entry points convert, apply that same code and round back, so training data, test-poisoned
/// folders and tensors at test time all see one trigger.
/// </summary>
public abstract class PixelAttack : IBackdoorAttack
{
    protected PixelAttack(AttackSetup setup)
    {
        if (setup.Height <= 0 || setup.Width <= 0) throw new ArgumentException("image size must be positive", nameof(setup));
        Height = setup.Height;
        Width = setup.Width;
    }

    public abstract string Name { get; }
    public int Height { get; }
    public int Width { get; }
    public int ImageValues => Data.ImageSet.Channels * Height * Width;
    public abstract IReadOnlyDictionary<string, object> Parameters { get; }
    public abstract IReadOnlyList<TriggerImage> TriggerImages { get; }

    public void PoisonTrainingImage(Span<byte> image, int ordinal, SeededRandom random)
    {
        var values = ToFloat(image);
        try
        {
            PoisonTraining(values.AsSpan(0, ImageValues), ordinal, random);
            ToBytes(values, image);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
        }
    }

    public void CoverTrainingImage(Span<byte> image, int ordinal, SeededRandom random)
    {
        var values = ToFloat(image);
        try
        {
            CoverTraining(values.AsSpan(0, ImageValues), ordinal, random);
            ToBytes(values, image);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
        }
    }

    public void TriggerTestImage(Span<byte> image)
    {
        var values = ToFloat(image);
        try
        {
            TriggerTest(values.AsSpan(0, ImageValues));
            ToBytes(values, image);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
        }
    }

    public void TriggerTestImage(Span<float> image)
    {
        CheckLength(image.Length);
        TriggerTest(image);
    }

    /// <summary>The training-time trigger of a poisoned sample.</summary>
    protected abstract void PoisonTraining(Span<float> image, int ordinal, SeededRandom random);

    /// <summary>The training-time trigger of a cover sample; attacks with cover samples override it.</summary>
    protected virtual void CoverTraining(Span<float> image, int ordinal, SeededRandom random) =>
        throw new InvalidOperationException($"{Name} has no cover samples");

    /// <summary>The test-time trigger.</summary>
    protected abstract void TriggerTest(Span<float> image);

    /// <summary>Replaces every value v of channel c at pixel p (y x W + x) by map(c, p, v): for triggers that act value by value.</summary>
    protected void MapValues(Span<float> image, Func<int, int, float, float> map)
    {
        var plane = Height * Width;
        for (var c = 0; c < Data.ImageSet.Channels; c++)
        {
            var channel = image.Slice(c * plane, plane);
            for (var p = 0; p < plane; p++) channel[p] = map(c, p, channel[p]);
        }
    }

    /// <summary>Rounds a [0, 1] value to 8 bits the way image libraries save float images (clip, scale, round half to even).</summary>
    public static byte ToByte(float value) => (byte)Math.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);

    /// <summary>8-bit values as floats in [0, 1] (<paramref name="values"/> at least as long as <paramref name="image"/>).</summary>
    public static void ToUnit(ReadOnlySpan<byte> image, Span<float> values)
    {
        for (var i = 0; i < image.Length; i++) values[i] = image[i] / 255f;
    }

    /// <summary>An image of <see cref="Height"/> x <see cref="Width"/> as 8 bits, for trigger pictures.</summary>
    protected byte[] ToPicture(ReadOnlySpan<float> values)
    {
        var pixels = new byte[values.Length];
        for (var i = 0; i < values.Length; i++) pixels[i] = ToByte(values[i]);
        return pixels;
    }

    /// <summary>A one-channel map (H x W, values in [0, 1]) as a grey RGB picture.</summary>
    protected byte[] GreyPicture(ReadOnlySpan<float> plane)
    {
        var size = Height * Width;
        var pixels = new byte[Data.ImageSet.Channels * size];
        for (var c = 0; c < Data.ImageSet.Channels; c++)
            for (var p = 0; p < size; p++) pixels[c * size + p] = ToByte(plane[p]);
        return pixels;
    }

    private float[] ToFloat(ReadOnlySpan<byte> image)
    {
        CheckLength(image.Length);
        var values = ArrayPool<float>.Shared.Rent(image.Length);
        ToUnit(image, values);
        return values;
    }

    private static void ToBytes(float[] values, Span<byte> image)
    {
        for (var i = 0; i < image.Length; i++) image[i] = ToByte(values[i]);
    }

    private void CheckLength(int length)
    {
        if (length != ImageValues)
            throw new ArgumentException($"{Name}: expected a 3 x {Height} x {Width} image ({ImageValues} values), got {length} values");
    }
}
