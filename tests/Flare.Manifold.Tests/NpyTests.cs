using System.Text;
using Flare.Manifold;

namespace Flare.Manifold.Tests;

public sealed class NpyTests
{
    [Theory]
    [InlineData(NpyDType.Float32)]
    [InlineData(NpyDType.Float64)]
    public void RoundTripKeepsShapeAndValues(NpyDType dtype)
    {
        var matrix = TestData.Uniform(7, 3, seed: 1, low: -5f, high: 5f);
        using var stream = new MemoryStream();
        Npy.Write(stream, matrix, dtype);
        stream.Position = 0;
        var back = Npy.ReadMatrix(stream);
        Assert.Equal(7, back.Rows);
        Assert.Equal(3, back.Columns);
        Assert.Equal(matrix.Values, back.Values);
    }

    [Fact]
    public void HeaderFollowsNumpyVersion1Layout()
    {
        using var stream = new MemoryStream();
        Npy.Write(stream, new DenseMatrix(5, 2), NpyDType.Float32);
        var bytes = stream.ToArray();
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = bytes[8] | (bytes[9] << 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.Latin1.GetString(bytes, 10, headerLength);
        Assert.EndsWith("\n", header);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2), }", header);
        Assert.Equal(10 + headerLength + (5 * 2 * 4), bytes.Length);
    }

    [Fact]
    public void ReadsAFileWrittenByNumpy()
    {
        // np.save of np.array([[1.5, -2.0], [3.25, 4.0]], dtype=np.float64), byte for byte.
        string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
        header += new string(' ', 128 - 10 - header.Length - 1) + "\n";
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
        stream.Write(Encoding.Latin1.GetBytes(header));
        foreach (double v in new[] { 1.5, -2.0, 3.25, 4.0 })
        {
            stream.Write(BitConverter.GetBytes(v));
        }

        stream.Position = 0;
        var matrix = Npy.ReadMatrix(stream);
        Assert.Equal(new[] { 1.5f, -2f, 3.25f, 4f }, matrix.Values);
    }

    [Fact]
    public void OneDimensionalArrayReadsAsColumnAndIntsRoundTrip()
    {
        string path = Path.Combine(Path.GetTempPath(), $"flare-npy-{Guid.NewGuid():N}.npy");
        try
        {
            Npy.WriteInt32(path, [3, -1, 7]);
            Assert.Equal(new[] { 3, -1, 7 }, Npy.ReadInt32(path));
            var column = Npy.ReadMatrix(path);
            Assert.Equal((3, 1), (column.Rows, column.Columns));
            Assert.Equal(new[] { 3f, -1f, 7f }, column.Values);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RejectsFortranOrderAndBadMagic()
    {
        string header = "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }";
        header += new string(' ', 128 - 10 - header.Length - 1) + "\n";
        using var fortran = new MemoryStream();
        fortran.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
        fortran.Write(Encoding.Latin1.GetBytes(header));
        fortran.Write(new byte[4]);
        fortran.Position = 0;
        Assert.Throws<InvalidDataException>(() => Npy.ReadMatrix(fortran));

        using var garbage = new MemoryStream(Encoding.ASCII.GetBytes("not an npy file at all"));
        Assert.Throws<InvalidDataException>(() => Npy.ReadMatrix(garbage));
    }
}
