namespace Flare.Manifold;

/// <summary>
/// Distances are summed in float32: a squared Euclidean distance over D columns of values up to m
/// is at most 4 D m^2, which overflows above float.MaxValue and mixes up neighbours silently. This
/// says which inputs are safe, so callers can reject the others with a clear message.
/// </summary>
public static class DistanceRange
{
    /// <summary>The largest magnitude whose squared distances over <paramref name="columns"/> columns stay finite.</summary>
    public static float MaxMagnitude(int columns) => MathF.Sqrt(float.MaxValue / (4f * Math.Max(columns, 1)));

    /// <summary>A one-line description of why the matrix cannot be embedded or clustered safely, or null when it can.</summary>
    public static string? Problem(DenseMatrix matrix)
    {
        var limit = MaxMagnitude(matrix.Columns);
        var largest = 0f;
        foreach (var value in matrix.Values)
        {
            if (!float.IsFinite(value)) return "contains NaN or infinite values";
            largest = Math.Max(largest, Math.Abs(value));
        }
        return largest > limit
            ? $"values reach {largest:G3}, which overflows float32 squared distances over {matrix.Columns} columns (the limit is {limit:G3}); rescale the data"
            : null;
    }
}
