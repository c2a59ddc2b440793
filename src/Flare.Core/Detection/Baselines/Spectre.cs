using Flare.Progress;
using static TorchSharp.torch;

namespace Flare.Detection.Baselines;

/// <summary>
/// SPECTRE (Hayase et al. 2021), after backdoor-toolbox cleansers_tool_box/spectre
/// (quantum_filters.jl, dkk17.jl). Per training label, with eps = epsilon n_label poisons assumed:
/// PCA of the penultimate activations to k dimensions; a robust covariance from the iterative
/// filter of Diakonikolas et al. 2017 (removing at most 2 eps samples, tau 0.1); whitening with it;
/// QUantum Entropy scores x^T M x / tr M with M = exp(alpha (S - I) / (||S|| - 1)), alpha 4, S the
/// covariance of the whitened data; the top 1.5 eps scores removed. k runs over 1, 4, 9, ..., 64 and
/// the k whose removal leaves the largest QUE norm in the 64-dimensional PCA space is kept.
/// The filter's top eigenvector of the fourth-moment operator is found by power iteration.
/// </summary>
public sealed class Spectre : IPoisonDetector
{
    public const double Alpha = 4;
    public const double Tau = 0.1;
    public const double FilterLimitFactor = 2;
    public const int MaxDimensions = 64;
    private const double FilterC = 10;
    private const int PowerIterations = 100;

    // The eigenvalue is only compared with the filter's threshold, so three digits are enough.
    private const double PowerTolerance = 1e-4;

    public string Name => "spectre";

    public DetectorOutcome Detect(DetectorInput input, IProgressSink progress, CancellationToken cancellationToken = default)
    {
        var classNames = input.Evidence.Images.ClassNames;
        var chosen = new List<string>();
        var (flagged, scores) = ClassFeatures.PerLabel(input.Evidence, progress, "SPECTRE", 4, block =>
        {
            var n = block.Rows.Length;
            var budget = SpectralSignatures.RemovalBudget(n, input.PoisonRate);
            if (budget == 0) return null;
            var top = Math.Min(MaxDimensions, Math.Min(block.Centred.GetLength(1), n - 1));
            var reps = block.Principal(top);
            var eps = input.PoisonRate * n;
            var filterLimit = Math.Min((int)Math.Round(FilterLimitFactor * eps), n / 2);

            (double Norm, int K, double[] Scores)? best = null;
            foreach (var k in Dimensions(top))
            {
                var labelScores = QuantumScores(Columns(reps, k), eps / n, filterLimit);
                var removed = ClassFeatures.Largest(labelScores, budget).ToHashSet();
                var kept = Enumerable.Range(0, n).Where(r => !removed.Contains(r)).ToArray();
                var norm = QueNorm(reps, kept);
                if (best is null || norm > best.Value.Norm) best = (norm, k, labelScores);
            }
            chosen.Add($"{classNames[block.Label]}: k = {best!.Value.K}");
            return ClassFeatures.TopScores(best.Value.Scores, budget);
        }, cancellationToken);
        return new DetectorOutcome(flagged, scores,
        [
            $"removed the top min(1.5 x {input.PoisonRate} x n, n / 2) QUE scores of each label",
            $"dimensions chosen: {string.Join(", ", chosen)}",
        ]);
    }

    // 1, 4, 9, ..., 64 (the reference's round.(range(1, 8, length=8) .^ 2)), up to the available dimensions.
    private static IEnumerable<int> Dimensions(int available) =>
        Enumerable.Range(1, 8).Select(r => r * r).Where(k => k <= available).DefaultIfEmpty(available);

    private static double[] QuantumScores(double[,] reps, double fraction, int filterLimit)
    {
        var (n, k) = (reps.GetLength(0), reps.GetLength(1));
        double[,] whitened;
        double[,] m;
        if (k == 1)
        {
            whitened = reps;
            m = new double[,] { { 1 } };
        }
        else
        {
            var selected = RobustSelection(reps, fraction, filterLimit);
            var inverseRoot = ClassFeatures.Apply(ClassFeatures.Covariance(reps, selected), v => 1 / Math.Sqrt(Math.Max(v, 1e-12)));
            whitened = ClassFeatures.Project(reps, inverseRoot, k);
            m = QueMatrix(ClassFeatures.Covariance(whitened, Enumerable.Range(0, n).ToArray()));
        }
        var scores = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var a = 0; a < k; a++)
                for (var b = 0; b < k; b++) sum += whitened[i, a] * m[a, b] * whitened[i, b];
            scores[i] = sum;
        }
        return scores;
    }

    // tr(S M) / tr(M) in the full PCA space, whitened with the covariance of the kept samples.
    private static double QueNorm(double[,] reps, int[] kept)
    {
        var k = reps.GetLength(1);
        var inverseRoot = ClassFeatures.Apply(ClassFeatures.Covariance(reps, kept), v => 1 / Math.Sqrt(Math.Max(v, 1e-12)));
        var whitened = ClassFeatures.Project(reps, inverseRoot, k);
        var s = ClassFeatures.Covariance(whitened, Enumerable.Range(0, reps.GetLength(0)).ToArray());
        var m = QueMatrix(s);
        var trace = 0.0;
        for (var a = 0; a < k; a++)
            for (var b = 0; b < k; b++) trace += s[a, b] * m[b, a];
        return trace;
    }

    // exp(alpha (S - I) / (||S|| - 1)) / its trace.
    private static double[,] QueMatrix(double[,] s)
    {
        var (values, _) = ClassFeatures.SymmetricEigen(s);
        var denominator = Math.Max(values[0] - 1, 1e-9);
        var m = ClassFeatures.Apply(s, v => Math.Exp(Alpha * (v - 1) / denominator));
        var trace = 0.0;
        for (var a = 0; a < m.GetLength(0); a++) trace += m[a, a];
        for (var a = 0; a < m.GetLength(0); a++)
            for (var b = 0; b < m.GetLength(1); b++) m[a, b] /= trace;
        return m;
    }

    // The rows the robust covariance estimate keeps: filter rounds until the fourth-moment test
    // passes, a round finds nothing to remove, or the removal limit is spent.
    private static int[] RobustSelection(double[,] reps, double fraction, int limit)
    {
        var kept = Enumerable.Range(0, reps.GetLength(0)).ToArray();
        while (limit > 0)
        {
            var keep = FilterRound(Rows(reps, kept), Math.Max(fraction, 1e-6), limit);
            if (keep is null) break;
            var removed = keep.Count(k => !k);
            if (removed == 0) break;
            kept = kept.Where((_, i) => keep[i]).ToArray();
            limit -= removed;
        }
        return kept;
    }

    private static bool[]? FilterRound(double[,] s, double eps, int limit)
    {
        var (n, d) = (s.GetLength(0), s.GetLength(1));
        var moment = ClassFeatures.SecondMoment(s);
        for (var a = 0; a < d; a++) moment[a, a] += 1e-8;
        var y = ClassFeatures.Project(s, ClassFeatures.Apply(moment, v => 1 / Math.Sqrt(Math.Max(v, 1e-300))), d);
        var norms = new double[n];
        for (var i = 0; i < n; i++)
            for (var a = 0; a < d; a++) norms[i] += y[i, a] * y[i, a];
        var far = norms.Select(v => v >= FilterC * d * Math.Log(n / Tau)).ToArray();
        if (far.Any(f => f)) return KeepWithinLimit(far.Select(f => !f).ToArray(), norms, limit);

        var (lambda, v) = TopFourthMomentDirection(y);
        if (lambda <= 1 + FilterC * eps * Math.Pow(Math.Log(1 / eps), 2)) return null;
        var trace = 0.0;
        for (var a = 0; a < d; a++) trace += v[a, a];
        var p = new double[n];
        for (var i = 0; i < n; i++)
        {
            var q = 0.0;
            for (var a = 0; a < d; a++)
                for (var b = 0; b < d; b++) q += y[i, a] * v[a, b] * y[i, b];
            p[i] = (q - trace) / Math.Sqrt(2);
        }
        var median = p.Order().ElementAt(n / 2);
        var diffs = p.Select(x => Math.Abs(x - median)).ToArray();
        var sorted = diffs.Order().ToArray();
        for (var i = 0; i < n; i++)
        {
            var t = sorted[i] - 3;
            if (t <= 0) continue;
            if ((i + 1.0) / n >= Tail(t, eps))
                return KeepWithinLimit(diffs.Select(x => x <= t).ToArray(), diffs, limit);
        }
        return null;
    }

    private static double Tail(double t, double eps) =>
        t <= 10 * Math.Log(1 / eps) ? 1 : 3 * eps / Math.Pow(t * Math.Log(t), 2);

    // Never remove more than the limit: the n - limit lowest values stay whatever the rule said.
    private static bool[] KeepWithinLimit(bool[] keep, double[] values, int limit)
    {
        foreach (var i in Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ThenBy(i => i).Take(Math.Max(0, values.Length - limit)))
            keep[i] = true;
        return keep;
    }

    // Power iteration for the top eigenpair of T(V) = Y^T diag(y_i^T V y_i) Y / n - tr(V) I on
    // symmetric d x d matrices (Frobenius norm), started from the all-ones matrix as the reference
    // does; in double-precision tensors, since it runs for every filter round of every k and label.
    private static (double Lambda, double[,] V) TopFourthMomentDirection(double[,] y)
    {
        var (n, d) = (y.GetLength(0), y.GetLength(1));
        using var scope = NewDisposeScope();
        var rows = tensor(y.Cast<double>().ToArray(), [n, d], ScalarType.Float64);
        var identity = eye(d, dtype: ScalarType.Float64);
        var v = full([d, d], 1.0 / d, dtype: ScalarType.Float64);
        var lambda = 0.0;
        for (var iteration = 0; iteration < PowerIterations; iteration++)
        {
            var q = (rows.mm(v) * rows).sum(1, keepdim: true);
            var next = (rows * q).t().mm(rows) / n - v.trace() * identity;
            var rayleigh = (next * v).sum().item<double>();
            var norm = next.norm().item<double>();
            if (norm == 0) break;
            v = next / norm;
            var converged = Math.Abs(rayleigh - lambda) <= PowerTolerance * Math.Abs(rayleigh);
            lambda = rayleigh;
            if (converged) break;
        }
        var values = v.contiguous().data<double>().ToArray();
        var result = new double[d, d];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(double));
        return (lambda, result);
    }

    private static double[,] Columns(double[,] x, int k)
    {
        var result = new double[x.GetLength(0), k];
        for (var r = 0; r < x.GetLength(0); r++)
            for (var c = 0; c < k; c++) result[r, c] = x[r, c];
        return result;
    }

    private static double[,] Rows(double[,] x, int[] rows)
    {
        var result = new double[rows.Length, x.GetLength(1)];
        for (var r = 0; r < rows.Length; r++)
            for (var c = 0; c < x.GetLength(1); c++) result[r, c] = x[rows[r], c];
        return result;
    }
}
