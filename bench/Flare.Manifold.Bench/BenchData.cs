using Flare.Manifold;

namespace Flare.Manifold.Bench;

/// <summary>
/// The benchmark's data: a seeded Gaussian mixture of broad clusters plus one small, tight cluster holding 10 % of
/// the points, the shape FLARE's poisoned-sample features take.
/// </summary>
internal static class BenchData
{
    public static (DenseMatrix Data, int[] Labels) Mixture(int rows, int columns, int clusters, int seed)
    {
        var random = new Random(seed);
        double Gaussian()
        {
            double u1 = 1.0 - random.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * random.NextDouble());
        }

        var centers = new double[clusters + 1, columns];
        var spreads = new double[clusters + 1];
        for (int c = 0; c <= clusters; c++)
        {
            for (int d = 0; d < columns; d++)
            {
                centers[c, d] = 4.0 * Gaussian();
            }

            spreads[c] = c == clusters ? 0.15 : 0.6 + random.NextDouble();
        }

        var data = new DenseMatrix(rows, columns);
        var labels = new int[rows];
        int tight = rows / 10;
        for (int i = 0; i < rows; i++)
        {
            int c = i < tight ? clusters : random.Next(clusters);
            labels[i] = c;
            var row = data.Row(i);
            for (int d = 0; d < columns; d++)
            {
                row[d] = (float)(centers[c, d] + (spreads[c] * Gaussian()));
            }
        }

        return (data, labels);
    }
}
