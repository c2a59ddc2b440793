namespace Flare.Attacks;

/// <summary>
/// Bicubic upsampling with aligned corners, as deep-learning frameworks do it: cubic convolution
/// with a = -0.75, the source coordinate of output i being i (n - 1) / (m - 1), neighbours
/// beyond the border clamped to the edge.
/// </summary>
internal static class Bicubic
{
    private const double A = -0.75;

    public static double[] Upsample(ReadOnlySpan<float> source, int sourceHeight, int sourceWidth, int height, int width)
    {
        var values = new double[source.Length];
        for (var i = 0; i < values.Length; i++) values[i] = source[i];
        // Separable: along rows to the output width, then along columns to the output height.
        var rows = new double[sourceHeight * width];
        for (var y = 0; y < sourceHeight; y++)
            for (var x = 0; x < width; x++)
                rows[y * width + x] = Interpolate(values, y * sourceWidth, 1, sourceWidth, Coordinate(x, sourceWidth, width));
        var result = new double[height * width];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                result[y * width + x] = Interpolate(rows, x, width, sourceHeight, Coordinate(y, sourceHeight, height));
        return result;
    }

    private static double Coordinate(int output, int sourceSize, int outputSize) =>
        outputSize > 1 ? output * (sourceSize - 1) / (double)(outputSize - 1) : 0;

    /// <summary>Interpolates the line data[offset + i * stride], i = 0..size-1, at <paramref name="coordinate"/>.</summary>
    private static double Interpolate(double[] data, int offset, int stride, int size, double coordinate)
    {
        var index = (int)Math.Floor(coordinate);
        var t = coordinate - index;
        double sum = 0;
        for (var tap = -1; tap <= 2; tap++)
            sum += Kernel(tap - t) * data[offset + Math.Clamp(index + tap, 0, size - 1) * stride];
        return sum;
    }

    private static double Kernel(double distance)
    {
        var d = Math.Abs(distance);
        if (d <= 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
        if (d < 2) return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
        return 0;
    }
}
