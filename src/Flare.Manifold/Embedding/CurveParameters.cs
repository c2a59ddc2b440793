namespace Flare.Manifold.Embedding;

/// <summary>
/// The a, b of UMAP's low-dimensional similarity 1 / (1 + a d^(2b)), fitted as umap-learn's find_ab_params does:
/// least squares against the target curve (1 below min_dist, exp(-(d - min_dist) / spread) above) at 300 points
/// on [0, 3 spread], here by Levenberg-Marquardt from (1, 1) as scipy's curve_fit starts.
/// </summary>
public static class CurveParameters
{
    private const int SampleCount = 300;

    public static (double A, double B) Fit(double minDist, double spread)
    {
        if (!(spread > 0) || !double.IsFinite(spread))
        {
            throw new ArgumentOutOfRangeException(nameof(spread), spread, "spread must be positive and finite.");
        }

        if (!(minDist >= 0) || !double.IsFinite(minDist))
        {
            throw new ArgumentOutOfRangeException(nameof(minDist), minDist, "minDist must be non-negative and finite.");
        }

        var x = new double[SampleCount];
        var y = new double[SampleCount];
        for (int i = 0; i < SampleCount; i++)
        {
            x[i] = spread * 3.0 * i / (SampleCount - 1);
            y[i] = x[i] < minDist ? 1.0 : Math.Exp(-(x[i] - minDist) / spread);
        }

        double a = 1.0;
        double b = 1.0;
        double lambda = 1e-3;
        double cost = Cost(x, y, a, b);
        for (int iteration = 0; iteration < 500; iteration++)
        {
            // Normal equations of the 2-parameter problem: (J^T J + lambda diag(J^T J)) step = -J^T r.
            double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
            for (int i = 0; i < SampleCount; i++)
            {
                var (value, da, db) = Evaluate(x[i], a, b);
                double r = value - y[i];
                jaa += da * da;
                jab += da * db;
                jbb += db * db;
                ga += da * r;
                gb += db * r;
            }

            bool improved = false;
            while (lambda < 1e12)
            {
                double m11 = jaa * (1 + lambda);
                double m22 = jbb * (1 + lambda);
                double det = (m11 * m22) - (jab * jab);
                double stepA = (-(m22 * ga) + (jab * gb)) / det;
                double stepB = (-(m11 * gb) + (jab * ga)) / det;
                double candidate = Cost(x, y, a + stepA, b + stepB);
                if (candidate < cost)
                {
                    a += stepA;
                    b += stepB;
                    improved = cost - candidate > 1e-15 * cost;
                    cost = candidate;
                    lambda = Math.Max(lambda / 10, 1e-12);
                    break;
                }

                lambda *= 10;
            }

            if (!improved)
            {
                break;
            }
        }

        return (a, b);
    }

    private static (double Value, double DerivativeA, double DerivativeB) Evaluate(double x, double a, double b)
    {
        if (x <= 0)
        {
            return (1.0, 0.0, 0.0);
        }

        double power = Math.Pow(x, 2 * b);
        double denominator = 1 + (a * power);
        double value = 1 / denominator;
        double square = value * value;
        return (value, -power * square, -a * power * 2 * Math.Log(x) * square);
    }

    private static double Cost(double[] x, double[] y, double a, double b)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double r = Evaluate(x[i], a, b).Value - y[i];
            sum += r * r;
        }

        return sum;
    }
}
