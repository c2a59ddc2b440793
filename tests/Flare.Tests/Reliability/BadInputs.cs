using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Flare.Data;
using Flare.Manifold;
using Flare.Tests.Support;

namespace Flare.Tests.Reliability;

/// <summary>
/// The inputs the promise tests feed the CLI, made once: a tiny valid image folder (3 classes of
/// 20 images, 32x32) and a model trained on it (width 8, 1 epoch), beside broken variants of
/// every kind of input a command reads. Every file here is an input: its checksum must not change.
/// </summary>
public sealed class BadInputs : IDisposable
{
    private readonly TempFolder root = new();

    public BadInputs()
    {
        Directory.CreateDirectory(Inputs);
        Directory.CreateDirectory(Scratch);
        var images = SyntheticImages.Create(perClass: 20, classes: 3, height: 32, width: 32);
        SyntheticImages.WriteFolder(images, In("data"));
        var train = CliProcess.RunInProcess("train", "--data", In("data"), "--width", "8", "--epochs", "1", "--augment", "flip", "--out", In("model.ckpt"));
        Assert.True(train.ExitCode == 0, train.Error);
        File.Copy(In("model.ckpt"), In("existing.ckpt"));

        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("other-classes"));
        Directory.CreateDirectory(In("empty-data"));
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("empty-class"));
        Directory.Delete(In("empty-class", "class1"), recursive: true);
        Directory.CreateDirectory(In("empty-class", "class1"));
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("corrupt-image"));
        File.WriteAllBytes(In("corrupt-image", "class1", "0003.png"), RandomBytes(500, seed: 1));
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("mixed-bin"));
        File.WriteAllBytes(In("mixed-bin", "data_batch_1.bin"), CifarRecords(2));
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("mixed-sizes"));
        File.Copy(WriteSingle(SyntheticImages.Create(perClass: 1, classes: 1, height: 16, width: 16), In("tmp-small")), In("mixed-sizes", "class1", "0009.png"));
        Directory.Delete(In("tmp-small"), recursive: true);
        SyntheticImages.WriteFolder(SyntheticImages.Create(perClass: 2, classes: 2, height: 32, width: 32), In("non-image"));
        File.WriteAllText(In("non-image", "class0", "notes.txt"), "not an image");
        Directory.CreateDirectory(In("cifar-bin"));
        File.WriteAllBytes(In("cifar-bin", "data_batch_1.bin"), CifarRecords(60));
        Directory.CreateDirectory(In("existing-folder"));
        File.WriteAllText(In("existing-folder", "keep.txt"), "earlier results");

        WriteCheckpointVariants();
        WriteMatrices();
    }

    public string Inputs => root.Combine("inputs");

    /// <summary>Where outputs go: one sub-folder per case, which must be empty after a failed run.</summary>
    public string Scratch => root.Combine("scratch");

    public string In(params string[] parts) => Path.Combine([Inputs, .. parts]);

    /// <summary>SHA-256 over every path and byte under the inputs: any change, added or removed file shows.</summary>
    public string Checksum()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in Directory.EnumerateFileSystemEntries(Inputs, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(Inputs, entry) + "\n"));
            if (File.Exists(entry)) hash.AppendData(File.ReadAllBytes(entry));
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    public void Dispose() => root.Dispose();

    private void WriteCheckpointVariants()
    {
        var original = File.ReadAllBytes(In("model.ckpt"));
        var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(original.AsSpan(8));
        var json = Encoding.UTF8.GetString(original, 12, jsonLength);
        var weights = original.AsSpan(12 + jsonLength).ToArray();
        void Variant(string name, string editedJson)
        {
            var bytes = Encoding.UTF8.GetBytes(editedJson);
            var file = new List<byte>(original[..8]);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            file.AddRange(length);
            file.AddRange(bytes);
            file.AddRange(weights);
            File.WriteAllBytes(In(name), file.ToArray());
        }
        JsonNode Edit(Action<JsonNode> change)
        {
            var node = JsonNode.Parse(json)!;
            change(node);
            return node;
        }
        Variant("std-zero.ckpt", Edit(n => n["std"] = new JsonArray(0f, 0f, 0f)).ToJsonString());
        Variant("mean-100.ckpt", Edit(n => n["mean"] = new JsonArray(100f, 100f, 100f)).ToJsonString());
        Variant("two-normalizations.ckpt", "{\"mean\": [0.5, 0.5, 0.5]," + json.TrimStart()[1..]);
        Variant("null-classes.ckpt", Edit(n => n["class_names"] = null).ToJsonString());
        File.WriteAllBytes(In("truncated.ckpt"), original[..(12 + jsonLength + 100)]);
        File.WriteAllBytes(In("empty.ckpt"), []);
        File.WriteAllBytes(In("garbage.ckpt"), RandomBytes(4000, seed: 2));
    }

    private void WriteMatrices()
    {
        var random = new SeededRandom(3);
        var values = Enumerable.Range(0, 60 * 4).Select(_ => (float)random.NextDouble()).ToArray();
        Npy.Write(In("points.npy"), new DenseMatrix(60, 4, values));
        Npy.Write(In("two-points.npy"), new DenseMatrix(2, 4, values[..8]));
        Npy.Write(In("huge-values.npy"), new DenseMatrix(60, 4, values.Select(v => v * 1e30f).ToArray()));
        Npy.Write(In("nan-values.npy"), new DenseMatrix(60, 4, values.Select((v, i) => i == 7 ? float.NaN : v).ToArray()));
        Npy.Write(In("no-columns.npy"), new DenseMatrix(5, 0));
        File.WriteAllBytes(In("empty.npy"), []);
        File.WriteAllBytes(In("garbage.npy"), RandomBytes(300, seed: 4));
        File.WriteAllBytes(In("truncated.npy"), File.ReadAllBytes(In("points.npy"))[..200]);
        File.WriteAllBytes(In("shape-above-int64.npy"), NpyHeader("(99999999999999999999, 4)"));
        File.WriteAllBytes(In("shape-overflow.npy"), NpyHeader("(4294967296, 4294967296)"));
        // Version 2.0 with a declared header length of 2^31 bytes.
        File.WriteAllBytes(In("header-2GB.npy"), [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0, 0, 0, 0x80]);
        File.WriteAllText(In("labels.csv"), "index,label\n0,1\n");
    }

    private static byte[] NpyHeader(string shape)
    {
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0, (byte)dict.Length, 0]);
        bytes.AddRange(Encoding.Latin1.GetBytes(dict));
        bytes.AddRange(new byte[64]);
        return bytes.ToArray();
    }

    private static byte[] CifarRecords(int count)
    {
        var bytes = RandomBytes(count * 3073, seed: 5);
        for (var r = 0; r < count; r++) bytes[r * 3073] = (byte)(r % 10);
        return bytes;
    }

    private static byte[] RandomBytes(int count, ulong seed)
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, count).Select(_ => (byte)random.NextInt(256)).ToArray();
    }

    private static string WriteSingle(ImageSet image, string folder)
    {
        SyntheticImages.WriteFolder(image, folder);
        return Path.Combine(folder, "class0", "0000.png");
    }
}
