using Flare.Manifold;

namespace Flare.Manifold.Tests;

/// <summary>Small seeded data sets for the tests.</summary>
internal static class TestData
{
    public static DenseMatrix Uniform(int rows, int columns, int seed, float low = 0f, float high = 1f)
    {
        var random = new Random(seed);
        var matrix = new DenseMatrix(rows, columns);
        for (int i = 0; i < matrix.Values.Length; i++)
        {
            matrix.Values[i] = low + ((high - low) * (float)random.NextDouble());
        }

        return matrix;
    }

    /// <summary>Isotropic Gaussian blobs: cluster c has <paramref name="sizes"/>[c] points around centers[c] with spreads[c].</summary>
    public static (DenseMatrix Data, int[] Labels) Blobs(double[][] centers, double[] spreads, int[] sizes, int seed)
    {
        var random = new Random(seed);
        int columns = centers[0].Length;
        int rows = sizes.Sum();
        var data = new DenseMatrix(rows, columns);
        var labels = new int[rows];
        int i = 0;
        for (int c = 0; c < centers.Length; c++)
        {
            for (int s = 0; s < sizes[c]; s++, i++)
            {
                labels[i] = c;
                for (int d = 0; d < columns; d++)
                {
                    data[i, d] = (float)(centers[c][d] + (spreads[c] * Gaussian(random)));
                }
            }
        }

        return (data, labels);
    }

    /// <summary><paramref name="clusters"/> Gaussian clusters of <paramref name="perCluster"/> points in <paramref name="columns"/> dimensions, centres spread with standard deviation <paramref name="centerSpread"/>.</summary>
    public static (DenseMatrix Data, int[] Labels) GaussianClusters(int clusters, int perCluster, int columns, double centerSpread, int seed)
    {
        var random = new Random(seed);
        var centers = new double[clusters][];
        for (int c = 0; c < clusters; c++)
        {
            centers[c] = Enumerable.Range(0, columns).Select(_ => centerSpread * Gaussian(random)).ToArray();
        }

        return Blobs(centers, Enumerable.Repeat(1.0, clusters).ToArray(), Enumerable.Repeat(perCluster, clusters).ToArray(), seed + 1);
    }

    /// <summary>sklearn's make_moons: two interleaved half circles with Gaussian noise.</summary>
    public static (DenseMatrix Data, int[] Labels) TwoMoons(int perMoon, double noise, int seed)
    {
        var random = new Random(seed);
        var data = new DenseMatrix(2 * perMoon, 2);
        var labels = new int[2 * perMoon];
        for (int i = 0; i < perMoon; i++)
        {
            double t = Math.PI * i / (perMoon - 1);
            data[i, 0] = (float)(Math.Cos(t) + (noise * Gaussian(random)));
            data[i, 1] = (float)(Math.Sin(t) + (noise * Gaussian(random)));
            data[perMoon + i, 0] = (float)(1 - Math.Cos(t) + (noise * Gaussian(random)));
            data[perMoon + i, 1] = (float)(0.5 - Math.Sin(t) + (noise * Gaussian(random)));
            labels[perMoon + i] = 1;
        }

        return (data, labels);
    }

    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * random.NextDouble());
    }

    /// <summary>Appends rows to a matrix.</summary>
    public static DenseMatrix Concat(DenseMatrix top, DenseMatrix bottom)
    {
        var result = new DenseMatrix(top.Rows + bottom.Rows, top.Columns);
        top.Values.CopyTo(result.Values, 0);
        bottom.Values.CopyTo(result.Values, top.Values.Length);
        return result;
    }
}
