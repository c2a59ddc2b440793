using Flare.Data;

namespace Flare.Training;

/// <summary>Per-channel normalization of inputs scaled to [0, 1]: (x / 255 - mean) / std.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    public static Normalization Identity => new([0f, 0f, 0f], [1f, 1f, 1f]);

    /// <summary>The per-channel mean and standard deviation of an image set, in [0, 1] units.</summary>
    public static Normalization FromImages(ImageSet images)
    {
        var plane = images.Height * images.Width;
        var sums = new double[ImageSet.Channels];
        var squares = new double[ImageSet.Channels];
        for (var i = 0; i < images.Count; i++)
        {
            var image = images.Image(i);
            for (var c = 0; c < ImageSet.Channels; c++)
            {
                long sum = 0, square = 0;
                foreach (var value in image.Slice(c * plane, plane))
                {
                    sum += value;
                    square += value * value;
                }
                sums[c] += sum;
                squares[c] += square;
            }
        }
        var count = (double)images.Count * plane;
        var mean = new float[ImageSet.Channels];
        var std = new float[ImageSet.Channels];
        for (var c = 0; c < ImageSet.Channels; c++)
        {
            var m = sums[c] / count / 255.0;
            var variance = Math.Max(squares[c] / count / (255.0 * 255.0) - m * m, 1e-12);
            mean[c] = (float)m;
            std[c] = (float)Math.Sqrt(variance);
        }
        return new Normalization(mean, std);
    }
}
