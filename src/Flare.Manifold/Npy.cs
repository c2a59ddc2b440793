using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Text;

namespace Flare.Manifold;

/// <summary>Element types this reader and writer understand (little endian).</summary>
public enum NpyDType
{
    Float32,
    Float64,
    Int32,
    Int64,
}

/// <summary>
/// Reads and writes NumPy .npy files (format versions 1.0 to 3.0, C order, little endian) so results can be
/// checked against Python tools. Matrices are float32 in memory; float64 and integer files are converted on read.
/// </summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // numpy itself refuses headers above 10,000 bytes unless told otherwise; far above that is corruption.
    private const uint MaxHeaderLength = 1 << 20;

    public static DenseMatrix ReadMatrix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return ReadMatrix(stream);
    }

    /// <summary>Reads a 1-D (as N x 1) or 2-D array into a float32 matrix.</summary>
    public static DenseMatrix ReadMatrix(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = ReadHeader(stream);
        if (header.Shape.Length is 0 or > 2)
        {
            throw new InvalidDataException($"expected a 1-D or 2-D array, the file holds shape ({string.Join(", ", header.Shape)}).");
        }

        long rows = header.Shape[0];
        long columns = header.Shape.Length == 2 ? header.Shape[1] : 1;
        if (rows > int.MaxValue || columns > int.MaxValue || (columns > 0 && rows > Array.MaxLength / columns))
        {
            throw new InvalidDataException($"array of {rows} x {columns} elements is too large.");
        }

        var matrix = new DenseMatrix((int)rows, (int)columns);
        ReadElements(stream, header.DType, matrix.Values);
        return matrix;
    }

    public static void Write(string path, DenseMatrix matrix, NpyDType dtype = NpyDType.Float32)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.Create(path);
        Write(stream, matrix, dtype);
    }

    /// <summary>Writes a 2-D array as float32 or float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(Stream stream, DenseMatrix matrix, NpyDType dtype = NpyDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(matrix);
        if (dtype is not (NpyDType.Float32 or NpyDType.Float64))
        {
            throw new ArgumentException("a matrix is written as Float32 or Float64.", nameof(dtype));
        }

        WriteHeader(stream, dtype, [matrix.Rows, matrix.Columns]);
        var values = matrix.Values;
        if (dtype == NpyDType.Float32)
        {
            var buffer = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), values[i]);
            }

            stream.Write(buffer);
        }
        else
        {
            var buffer = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(i * 8), values[i]);
            }

            stream.Write(buffer);
        }
    }

    /// <summary>Writes a 1-D int32 array, e.g. cluster labels.</summary>
    public static void WriteInt32(string path, ReadOnlySpan<int> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.Create(path);
        WriteHeader(stream, NpyDType.Int32, [values.Length]);
        var buffer = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(i * 4), values[i]);
        }

        stream.Write(buffer);
    }

    /// <summary>Reads a 1-D integer array (int32 or int64 file).</summary>
    public static int[] ReadInt32(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream);
        if (header.Shape.Length != 1 || header.DType is not (NpyDType.Int32 or NpyDType.Int64))
        {
            throw new InvalidDataException("expected a 1-D int32 or int64 array.");
        }

        var result = new int[header.Shape[0]];
        int size = header.DType == NpyDType.Int32 ? 4 : 8;
        var buffer = new byte[result.Length * size];
        stream.ReadExactly(buffer);
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = size == 4
                ? BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(i * 4))
                : checked((int)BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(i * 8)));
        }

        return result;
    }

    private readonly record struct Header(NpyDType DType, long[] Shape);

    private static Header ReadHeader(Stream stream)
    {
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        if (!prefix[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a .npy file: the magic string \\x93NUMPY is missing.");
        }

        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> length = stackalloc byte[2];
            stream.ReadExactly(length);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(length);
        }
        else if (major is 2 or 3)
        {
            Span<byte> length = stackalloc byte[4];
            stream.ReadExactly(length);
            uint declared = BinaryPrimitives.ReadUInt32LittleEndian(length);
            if (declared > MaxHeaderLength)
            {
                throw new InvalidDataException($"header length {declared} is implausible (at most {MaxHeaderLength} bytes).");
            }

            headerLength = (int)declared;
        }
        else
        {
            throw new InvalidDataException($"unsupported .npy format version {major}.{prefix[7]}.");
        }

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        string text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var descr = DescrPattern().Match(text);
        var fortran = FortranPattern().Match(text);
        var shape = ShapePattern().Match(text);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw new InvalidDataException($"malformed .npy header: {text.Trim()}");
        }

        if (fortran.Groups[1].Value == "True")
        {
            throw new InvalidDataException("Fortran-order arrays are not supported; save with np.ascontiguousarray.");
        }

        var dtype = descr.Groups[1].Value switch
        {
            "<f4" => NpyDType.Float32,
            "<f8" => NpyDType.Float64,
            "<i4" => NpyDType.Int32,
            "<i8" => NpyDType.Int64,
            var other => throw new InvalidDataException($"unsupported dtype '{other}'; expected little-endian <f4, <f8, <i4 or <i8."),
        };

        var dims = shape.Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var dim)
                ? dim
                : throw new InvalidDataException($"shape entry '{s}' is not a dimension below 2^63."))
            .ToArray();
        return new Header(dtype, dims);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadElements(Stream stream, NpyDType dtype, float[] destination)
    {
        int size = dtype is NpyDType.Float32 or NpyDType.Int32 ? 4 : 8;
        const int chunkElements = 1 << 16;
        var buffer = new byte[chunkElements * size];
        for (int start = 0; start < destination.Length; start += chunkElements)
        {
            int count = Math.Min(chunkElements, destination.Length - start);
            var bytes = buffer.AsSpan(0, count * size);
            stream.ReadExactly(bytes);
            for (int i = 0; i < count; i++)
            {
                var element = bytes[(i * size)..];
                destination[start + i] = dtype switch
                {
                    NpyDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(element),
                    NpyDType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(element),
                    NpyDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(element),
                    _ => BinaryPrimitives.ReadInt64LittleEndian(element),
                };
            }
        }
    }

    /// <summary>Version 1.0 header as numpy writes it: the dict padded with spaces so the data starts on a 64-byte boundary, ending in a newline.</summary>
    private static void WriteHeader(Stream stream, NpyDType dtype, int[] shape)
    {
        string descr = dtype switch
        {
            NpyDType.Float32 => "<f4",
            NpyDType.Float64 => "<f8",
            NpyDType.Int32 => "<i4",
            _ => "<i8",
        };
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (64 - (unpadded % 64)) % 64;
        string header = dict + new string(' ', padding) + "\n";

        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, checked((ushort)header.Length));
        stream.Write(length);
        stream.Write(Encoding.Latin1.GetBytes(header));
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
