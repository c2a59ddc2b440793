namespace Flare.Manifold;

/// <summary>A dense row-major matrix of float32 values: row i occupies Values[i*Columns .. (i+1)*Columns).</summary>
public sealed class DenseMatrix
{
    public DenseMatrix(int rows, int columns)
        : this(rows, columns, new float[ElementCount(rows, columns)])
    {
    }

    /// <summary>Wraps <paramref name="values"/> without copying.</summary>
    public DenseMatrix(int rows, int columns, float[] values)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentNullException.ThrowIfNull(values);
        if ((long)rows * columns != values.Length)
        {
            throw new ArgumentException(
                $"values has {values.Length} elements but a {rows} x {columns} matrix needs {(long)rows * columns}.",
                nameof(values));
        }

        Rows = rows;
        Columns = columns;
        Values = values;
    }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>The row-major storage; writes go straight into the matrix.</summary>
    public float[] Values { get; }

    public float this[int row, int column]
    {
        get => Values[(row * Columns) + column];
        set => Values[(row * Columns) + column] = value;
    }

    public Span<float> Row(int row) => Values.AsSpan(row * Columns, Columns);

    public ReadOnlySpan<float> ReadOnlyRow(int row) => Values.AsSpan(row * Columns, Columns);

    /// <summary>Copies the first <paramref name="count"/> columns of every row into a new matrix.</summary>
    public DenseMatrix TakeColumns(int count)
    {
        if (count < 0 || count > Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in [0, {Columns}].");
        }

        var result = new DenseMatrix(Rows, count);
        for (int i = 0; i < Rows; i++)
        {
            ReadOnlyRow(i)[..count].CopyTo(result.Row(i));
        }

        return result;
    }

    /// <summary>Copies the given rows, in the given order, into a new matrix.</summary>
    public DenseMatrix TakeRows(ReadOnlySpan<int> rows)
    {
        var result = new DenseMatrix(rows.Length, Columns);
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)Rows)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"row index must be in [0, {Rows}).");
            }

            ReadOnlyRow(rows[i]).CopyTo(result.Row(i));
        }

        return result;
    }

    public DenseMatrix Clone() => new(Rows, Columns, (float[])Values.Clone());

    /// <summary>Builds a matrix from a rectangular jagged array (convenient in tests and small tools).</summary>
    public static DenseMatrix FromRows(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int columns = rows.Count == 0 ? 0 : rows[0].Length;
        var result = new DenseMatrix(rows.Count, columns);
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != columns)
            {
                throw new ArgumentException($"row {i} has {rows[i].Length} values, row 0 has {columns}.", nameof(rows));
            }

            rows[i].CopyTo(result.Row(i));
        }

        return result;
    }

    private static int ElementCount(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        long count = (long)rows * columns;
        if (count > Array.MaxLength)
        {
            throw new ArgumentException($"a {rows} x {columns} matrix exceeds the largest array .NET can allocate.", nameof(rows));
        }

        return (int)count;
    }

    /// <summary>Throws when any value is NaN or infinite, naming the first offending cell.</summary>
    public void EnsureFinite(string parameterName)
    {
        ReadOnlySpan<float> values = Values;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException(
                    $"{parameterName} contains a non-finite value ({values[i]}) at row {i / Math.Max(1, Columns)}, column {i % Math.Max(1, Columns)}.",
                    parameterName);
            }
        }
    }
}
