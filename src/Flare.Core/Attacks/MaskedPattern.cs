using Flare.Data;

namespace Flare.Attacks;

/// <summary>
/// An additive trigger x' = x + a (t - x): a pattern t (C x H x W, values in [0, 1]) and a
/// per-pixel opacity a (H x W, 0 = untouched, 1 = replaced). Patch triggers have a 0/1 mask,
/// blended ones a constant opacity.
/// </summary>
public sealed class MaskedPattern
{
    public MaskedPattern(int height, int width, float[] pattern, float[] opacity)
    {
        if (pattern.Length != ImageSet.Channels * height * width) throw new ArgumentException("pattern must be 3 x H x W", nameof(pattern));
        if (opacity.Length != height * width) throw new ArgumentException("opacity must be H x W", nameof(opacity));
        Height = height;
        Width = width;
        Pattern = pattern;
        Opacity = opacity;
    }

    public int Height { get; }
    public int Width { get; }
    public float[] Pattern { get; }
    public float[] Opacity { get; }

    /// <summary>The same pattern with its opacity scaled by <paramref name="factor"/>.</summary>
    public MaskedPattern WithOpacity(float factor) =>
        new(Height, Width, Pattern, Opacity.Select(a => a * factor).ToArray());

    public void Apply(Span<float> image)
    {
        var plane = Height * Width;
        for (var c = 0; c < ImageSet.Channels; c++)
        {
            var channel = image.Slice(c * plane, plane);
            var pattern = Pattern.AsSpan(c * plane, plane);
            for (var p = 0; p < plane; p++)
            {
                var a = Opacity[p];
                if (a != 0) channel[p] += a * (pattern[p] - channel[p]);
            }
        }
    }

    /// <summary>A square of side <paramref name="size"/> with its top-left corner at (top, left): a 0/1 mask.</summary>
    public static float[] SquareMask(int height, int width, int top, int left, int size)
    {
        if (top < 0 || left < 0 || top + size > height || left + size > width)
            throw new FlareException($"a {size}x{size} trigger patch does not fit {width}x{height} images");
        var mask = new float[height * width];
        for (var y = top; y < top + size; y++)
            for (var x = left; x < left + size; x++) mask[y * width + x] = 1f;
        return mask;
    }

    /// <summary>Uniform random 8-bit values as a [0, 1] pattern, drawn in C x H x W order.</summary>
    public static float[] RandomPattern(int height, int width, SeededRandom random)
    {
        var pattern = new float[ImageSet.Channels * height * width];
        for (var i = 0; i < pattern.Length; i++) pattern[i] = random.NextInt(256) / 255f;
        return pattern;
    }
}
