using Flare.Manifold;
using Flare.Progress;

namespace Flare.Detection.Baselines;

/// <summary>One label's samples for a latent-space detector: their indices, centred features and principal directions (columns, by decreasing variance).</summary>
internal sealed record LabelBlock(int Label, int[] Rows, double[,] Centred, double[,] Directions)
{
    /// <summary>The block of the given rows of a feature matrix.</summary>
    public static LabelBlock Of(DenseMatrix features, int label, int[] rows)
    {
        var centred = ClassFeatures.Centered(features, rows);
        var (_, directions) = ClassFeatures.SymmetricEigen(ClassFeatures.SecondMoment(centred));
        return new LabelBlock(label, rows, centred, directions);
    }

    /// <summary>The centred features projected on the first k principal directions.</summary>
    public double[,] Principal(int k) => ClassFeatures.Project(Centred, Directions, Math.Min(k, Centred.GetLength(1)));
}

/// <summary>A detector's answer for one label, indexed like <see cref="LabelBlock.Rows"/>.</summary>
internal sealed record LabelVerdict(double[] Scores, bool[] Flagged);

/// <summary>
/// The small dense linear algebra the latent-space baselines share, in double precision on the
/// CPU: samples grouped by label, centred feature blocks, covariances and a symmetric eigensolver.
/// Matrices are at most a few hundred columns wide (the penultimate layer), so plain loops suffice.
/// </summary>
internal static class ClassFeatures
{
    /// <summary>The sample indices of each label, in index order.</summary>
    public static int[][] IndicesByLabel(IReadOnlyList<int> labels, int classes)
    {
        var lists = Enumerable.Range(0, classes).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < labels.Count; i++) lists[labels[i]].Add(i);
        return lists.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>
    /// The per-label loop AC, SS and SPECTRE share: for every label with at least
    /// <paramref name="minimumRows"/> samples, its block of centred features and principal directions
    /// goes to <paramref name="analyse"/> (null: nothing flagged), whose verdict is written back into
    /// whole-set flags and scores.
    /// </summary>
    public static (bool[] Flagged, double[] Scores) PerLabel(ModelEvidence evidence, IProgressSink progress, string stageName, int minimumRows,
        Func<LabelBlock, LabelVerdict?> analyse, CancellationToken cancellationToken)
    {
        var features = evidence.Penultimate(progress);
        var byLabel = IndicesByLabel(evidence.Images.Labels, evidence.Classes);
        var flagged = new bool[features.Rows];
        var scores = new double[features.Rows];
        using var stage = progress.Begin(stageName, byLabel.Length);
        for (var label = 0; label < byLabel.Length; label++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = byLabel[label];
            if (rows.Length >= minimumRows && analyse(LabelBlock.Of(features, label, rows)) is { } verdict)
            {
                for (var r = 0; r < rows.Length; r++)
                {
                    scores[rows[r]] = verdict.Scores[r];
                    flagged[rows[r]] = verdict.Flagged[r];
                }
            }
            stage.Advance(1);
        }
        return (flagged, scores);
    }

    /// <summary>A verdict flagging the <paramref name="count"/> largest scores.</summary>
    public static LabelVerdict TopScores(double[] scores, int count)
    {
        var flagged = new bool[scores.Length];
        foreach (var r in Largest(scores, count)) flagged[r] = true;
        return new LabelVerdict(scores, flagged);
    }

    /// <summary>The rows' features minus their mean, as an n x d row-major block.</summary>
    public static double[,] Centered(DenseMatrix features, IReadOnlyList<int> rows)
    {
        var d = features.Columns;
        var block = new double[rows.Count, d];
        var mean = new double[d];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = features.ReadOnlyRow(rows[r]);
            for (var c = 0; c < d; c++) { block[r, c] = row[c]; mean[c] += row[c]; }
        }
        for (var c = 0; c < d; c++) mean[c] /= Math.Max(1, rows.Count);
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < d; c++) block[r, c] -= mean[c];
        return block;
    }

    /// <summary>X^T X / n for an n x d block (the covariance when X is centred).</summary>
    public static double[,] SecondMoment(double[,] x)
    {
        var (n, d) = (x.GetLength(0), x.GetLength(1));
        var result = new double[d, d];
        var row = new double[d];
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < d; c++) row[c] = x[r, c];
            for (var a = 0; a < d; a++)
            {
                var va = row[a];
                if (va == 0) continue;
                for (var b = a; b < d; b++) result[a, b] += va * row[b];
            }
        }
        for (var a = 0; a < d; a++)
            for (var b = a; b < d; b++)
            {
                result[a, b] /= Math.Max(1, n);
                result[b, a] = result[a, b];
            }
        return result;
    }

    /// <summary>The covariance (mean removed, divided by n) of the given rows of an n x d block.</summary>
    public static double[,] Covariance(double[,] x, IReadOnlyList<int> rows)
    {
        var d = x.GetLength(1);
        var selected = new double[rows.Count, d];
        var mean = new double[d];
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < d; c++) mean[c] += x[rows[r], c] / rows.Count;
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < d; c++) selected[r, c] = x[rows[r], c] - mean[c];
        return SecondMoment(selected);
    }

    /// <summary>X V[:, :k]: the rows projected on the first k columns of V.</summary>
    public static double[,] Project(double[,] x, double[,] vectors, int k)
    {
        var (n, d) = (x.GetLength(0), x.GetLength(1));
        var result = new double[n, k];
        for (var r = 0; r < n; r++)
            for (var j = 0; j < k; j++)
            {
                var sum = 0.0;
                for (var c = 0; c < d; c++) sum += x[r, c] * vectors[c, j];
                result[r, j] = sum;
            }
        return result;
    }

    /// <summary>
    /// Eigenvalues (descending) and eigenvectors (columns, in the same order) of a symmetric matrix,
    /// by cyclic Jacobi rotations: exact to rounding and deterministic, which the seeds rely on.
    /// </summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] matrix)
    {
        var d = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[d, d];
        for (var i = 0; i < d; i++) v[i, i] = 1;
        for (var sweep = 0; sweep < 100; sweep++)
        {
            double offDiagonal = 0, diagonal = 0;
            for (var p = 0; p < d; p++)
            {
                diagonal += a[p, p] * a[p, p];
                for (var q = p + 1; q < d; q++) offDiagonal += a[p, q] * a[p, q];
            }
            if (offDiagonal <= 1e-24 * Math.Max(diagonal, 1e-300)) break;
            for (var p = 0; p < d - 1; p++)
                for (var q = p + 1; q < d; q++)
                {
                    var apq = a[p, q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    var theta = (a[q, q] - a[p, p]) / (2 * apq);
                    var t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < d; k++)
                    {
                        var akp = a[k, p];
                        var akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (var k = 0; k < d; k++)
                    {
                        var apk = a[p, k];
                        var aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (var k = 0; k < d; k++)
                    {
                        var vkp = v[k, p];
                        var vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var order = Enumerable.Range(0, d).OrderByDescending(i => a[i, i]).ThenBy(i => i).ToArray();
        var values = order.Select(i => a[i, i]).ToArray();
        var vectors = new double[d, d];
        for (var j = 0; j < d; j++)
            for (var k = 0; k < d; k++) vectors[k, j] = v[k, order[j]];
        return (values, vectors);
    }

    /// <summary>f(M) = V f(Lambda) V^T for a symmetric M (matrix square roots, inverses, exponentials).</summary>
    public static double[,] Apply(double[,] matrix, Func<double, double> function)
    {
        var (values, vectors) = SymmetricEigen(matrix);
        var d = values.Length;
        var result = new double[d, d];
        for (var j = 0; j < d; j++)
        {
            var f = function(values[j]);
            for (var a = 0; a < d; a++)
            {
                var va = vectors[a, j] * f;
                for (var b = 0; b < d; b++) result[a, b] += va * vectors[b, j];
            }
        }
        return result;
    }

    /// <summary>The indices of the <paramref name="count"/> largest scores (ties to the lower index).</summary>
    public static IEnumerable<int> Largest(IReadOnlyList<double> scores, int count) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(count);
}
