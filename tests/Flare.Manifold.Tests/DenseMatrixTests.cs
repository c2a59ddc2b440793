using Flare.Manifold;

namespace Flare.Manifold.Tests;

public sealed class DenseMatrixTests
{
    [Fact]
    public void TakeColumnsCopiesTheLeadingColumns()
    {
        var matrix = new DenseMatrix(2, 3, [1, 2, 3, 4, 5, 6]);
        var first = matrix.TakeColumns(2);
        Assert.Equal(new float[] { 1, 2, 4, 5 }, first.Values);
        Assert.Equal(new float[] { 4, 5, 6 }, matrix.Row(1).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.TakeColumns(4));
    }

    [Fact]
    public void FromRowsAndTakeRowsCopyRows()
    {
        var matrix = DenseMatrix.FromRows([[1f, 2f], [3f, 4f], [5f, 6f]]);
        Assert.Equal((3, 2), (matrix.Rows, matrix.Columns));
        Assert.Equal(new float[] { 5, 6, 1, 2 }, matrix.TakeRows([2, 0]).Values);
        Assert.Throws<ArgumentException>(() => DenseMatrix.FromRows([[1f], [2f, 3f]]));
    }

    [Fact]
    public void RejectsMismatchedStorageAndNonFiniteValues()
    {
        var mismatch = Assert.Throws<ArgumentException>(() => new DenseMatrix(2, 2, new float[3]));
        Assert.Equal("values", mismatch.ParamName);
        var matrix = new DenseMatrix(2, 2, [0, 1, float.NaN, 3]);
        var error = Assert.Throws<ArgumentException>(() => matrix.EnsureFinite("data"));
        Assert.Contains("row 1, column 0", error.Message);
    }
}
