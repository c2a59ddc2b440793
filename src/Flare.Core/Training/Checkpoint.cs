using System.Text;
using System.Text.Json;
using Flare.IO;
using Flare.Models;
using Flare.Native;

namespace Flare.Training;

/// <summary>
/// One file holding a model: an 8-byte magic, the JSON metadata (length-prefixed) and TorchSharp's
/// serialized weights. Written to a temporary file and renamed, so a failed run leaves no half file.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "FLARECKP"u8.ToArray();

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // An edited file must not be half believed: one value per field, no nulls where a value is required.
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
    };

    public static void Save(string path, ImageClassifier model, ModelMetadata metadata) =>
        AtomicFile.Write(path, temporary =>
        {
            using var stream = File.Create(temporary);
            using var writer = new BinaryWriter(stream);
            writer.Write(Magic);
            var json = JsonSerializer.SerializeToUtf8Bytes(metadata, Json);
            writer.Write(json.Length);
            writer.Write(json);
            model.save(writer);
        });

    public static ModelMetadata ReadMetadata(string path)
    {
        using var reader = Open(path);
        return ReadMetadata(reader, path);
    }

    public static (ImageClassifier Model, ModelMetadata Metadata) Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        using var reader = Open(path);
        var metadata = ReadMetadata(reader, path);
        var model = metadata.CreateModel();
        try
        {
            model.load(reader);
        }
        catch (Exception e) when (e is not FlareException)
        {
            model.Dispose();
            throw new FlareException($"{path}: unreadable checkpoint weights ({e.Message.Split('\n')[0]})", e);
        }
        model.eval();
        return (model, metadata);
    }

    private static BinaryReader Open(string path)
    {
        if (!File.Exists(path)) throw new FlareException($"{path}: checkpoint not found");
        return new BinaryReader(File.OpenRead(path));
    }

    private static ModelMetadata ReadMetadata(BinaryReader reader, string path)
    {
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new FlareException($"{path}: not a Flare checkpoint");
            var length = reader.ReadInt32();
            if (length <= 0 || length > 16 << 20) throw new FlareException($"{path}: corrupt checkpoint header");
            var metadata = JsonSerializer.Deserialize<ModelMetadata>(reader.ReadBytes(length), Json)
                ?? throw new FlareException($"{path}: corrupt checkpoint metadata");
            if (metadata.Format != ModelMetadata.CurrentFormat)
                throw new FlareException($"{path}: checkpoint format '{metadata.Format}' is not supported (expected {ModelMetadata.CurrentFormat})");
            metadata.Validate(path);
            return metadata;
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or DecoderFallbackException)
        {
            throw new FlareException($"{path}: unreadable checkpoint ({(e is JsonException ? e.Message.Split('\n')[0] : e.GetType().Name)})", e);
        }
    }
}
