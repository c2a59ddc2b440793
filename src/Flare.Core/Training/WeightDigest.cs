using System.Security.Cryptography;
using static TorchSharp.torch;

namespace Flare.Training;

/// <summary>
/// A SHA-256 over every parameter and buffer of a model, in state-dict order: two trainings learned
/// the same thing byte for byte exactly when their digests agree (how speed-ups are checked not to
/// change what training learns, docs/benchmarks.md).
/// </summary>
public static class WeightDigest
{
    public static string Of(nn.Module model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in model.state_dict())
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var contiguous = tensor.detach().contiguous();
            hash.AppendData(contiguous.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
