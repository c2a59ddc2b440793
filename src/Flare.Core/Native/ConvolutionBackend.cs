using System.Runtime.InteropServices;
using Flare.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Native;

/// <summary>
/// Chooses libtorch's convolution backend for a model: oneDNN only where every convolution keeps
/// whole 16-channel blocks, libtorch's own (slower, correct) kernels elsewhere. The oneDNN inside
/// libtorch 2.10 mishandles partial blocks on this project's machines in two ways: on AVX-512 AMD
/// EPYC (Zen 5) it computes wrong outputs for 24 channels and wrong input gradients for 4 or 8; on
/// an AVX2 EPYC (Zen 3) its results agreed with a float64 reference, but with one OpenMP thread a
/// width-4 surrogate's training and input gradients corrupted the native heap ("double free or
/// corruption", the test process killed, in 3 of 3 runs; in none of 3 with the built-in kernels). A numeric
/// self-check cannot see the second, so partial blocks never go to oneDNN.
/// </summary>
public static class ConvolutionBackend
{
    private const int OneDnnChannelBlock = 16;
    private static readonly Lazy<bool> BFloat16Usable = new(MeasureBFloat16);
    private static readonly Lazy<LibtorchContext> Context = new(LibtorchContext.Bind);

    /// <summary>Whether libtorch currently routes convolutions through oneDNN.</summary>
    public static bool OneDnnEnabled => Context.Value.OneDnnEnabled;

    /// <summary>
    /// Selects the backend that computes this model correctly, preferring oneDNN. Returns a note for
    /// the user when the slower kernels had to be chosen, otherwise null.
    /// </summary>
    public static string? ConfigureFor(nn.Module model)
    {
        TorchRuntime.EnsureLoaded();
        var useOneDnn = ChannelsOf(model).All(IsAligned);
        Context.Value.OneDnnEnabled = useOneDnn;
        // NNPACK is the next candidate for every convolution oneDNN does not take: all of them when
        // oneDNN is off, and with oneDNN on, single images too small for it (IAD's generators
        // trigger one image at a time). Where the CPU lacks NNPACK, libtorch warns on every such
        // convolution. libtorch's own kernels are the correct, quiet choice.
        Context.Value.NnpackEnabled = false;
        return useOneDnn
            ? null
            : "note: this model has convolutions whose channel counts are not multiples of 16, which oneDNN mishandles; it runs on libtorch's slower built-in kernels (widths that are multiples of 16 avoid this)";
    }

    /// <summary>
    /// Whether convolutions should multiply in bfloat16 while training: only where the CPU has
    /// bfloat16 dot-product instructions (elsewhere oneDNN emulates them, slower than float32),
    /// oneDNN is on, and a bfloat16 convolution and its gradients agree with a float64 reference to
    /// bfloat16's precision on this machine.
    /// </summary>
    public static bool BFloat16ConvolutionsFast => OneDnnEnabled && BFloat16Usable.Value;

    private static IEnumerable<(long Inputs, long Outputs)> ChannelsOf(nn.Module model)
    {
        foreach (var module in model.modules().Prepend(model))
        {
            if (module is Conv2d conv) yield return (conv.in_channels, conv.out_channels);
            else if (module is MixedPrecisionConvolution convolution) yield return (convolution.InputChannels, convolution.OutputChannels);
        }
    }

    // The input convolution of an image model has 3 channels; its forward pass is right, and so is
    // its input gradient (which training never computes, but learned attacks do) when its outputs
    // fill whole blocks: measured on the Zen 5 machine, 3 -> 16 and 3 -> 64 agree with float64,
    // 3 -> 8 does not. So only the output channels matter there.
    private static bool IsAligned((long Inputs, long Outputs) conv) =>
        conv.Outputs % OneDnnChannelBlock == 0 && (conv.Inputs % OneDnnChannelBlock == 0 || conv.Inputs <= 3);

    private static bool CpuHasBFloat16DotProducts()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!OperatingSystem.IsLinux() || !File.Exists(cpuInfo)) return false;
        var flags = File.ReadLines(cpuInfo).FirstOrDefault(line => line.StartsWith("flags", StringComparison.Ordinal));
        return flags is not null && flags.Split(' ', ':', '\t').Any(flag => flag is "avx512_bf16" or "amx_bf16");
    }

    private static bool MeasureBFloat16() => CpuHasBFloat16DotProducts() && OnOneDnnWithoutNnpack(() =>
    {
        using var scope = NewDisposeScope();
        var generator = new torch.Generator(11);
        // bfloat16 keeps 8 significant bits: a few parts in a thousand per product, accumulated in float32.
        return AgreesWithFloat64(16, 32, ScalarType.BFloat16, 2e-2, generator);
    });

    // A 3x3 convolution computed in the given precision, its output and both gradients each within
    // the relative tolerance (in norm) of a float64 reference on the same random inputs.
    private static bool AgreesWithFloat64(int inputs, int outputs, ScalarType precision, double tolerance, torch.Generator generator)
    {
        using var gradients = torch.enable_grad();
        var input = torch.randn([32, inputs, 16, 16], generator: generator);
        var weight = torch.randn([outputs, inputs, 3, 3], generator: generator) * 0.1;
        var upstream = torch.randn([32, outputs, 16, 16], generator: generator);
        var x = input.clone().requires_grad_(true);
        var w = weight.clone().requires_grad_(true);
        var y = nn.functional.conv2d(x.to(precision), w.to(precision), padding: [1, 1]).to(ScalarType.Float32);
        torch.autograd.backward([y], [upstream]);
        var x64 = input.to(ScalarType.Float64).requires_grad_(true);
        var w64 = weight.to(ScalarType.Float64).requires_grad_(true);
        var y64 = nn.functional.conv2d(x64, w64, padding: [1, 1]);
        torch.autograd.backward([y64], [upstream.to(ScalarType.Float64)]);
        bool Close(Tensor value, Tensor reference) =>
            ((value.to(ScalarType.Float64) - reference).norm() / reference.norm()).nan_to_num(1e30).item<double>() < tolerance;
        return Close(y, y64) && Close(x.grad!, x64.grad!) && Close(w.grad!, w64.grad!);
    }

    /// <summary>
    /// Runs <paramref name="compute"/> with oneDNN on and NNPACK off, then restores both switches:
    /// for a model whose convolutions all keep whole 16-channel blocks (so oneDNN is right for it on
    /// every CPU), run between classifiers that set the switches their own way. Its results then do
    /// not depend on which model ran before, and small convolutions that oneDNN declines go to
    /// libtorch's own kernels rather than to an NNPACK that warns on every call where the CPU lacks it.
    /// </summary>
    public static T OnOneDnn<T>(nn.Module model, Func<T> compute)
    {
        if (!ChannelsOf(model).All(IsAligned)) throw new ArgumentException("the model has convolutions over partial 16-channel blocks", nameof(model));
        return OnOneDnnWithoutNnpack(compute);
    }

    // Runs a self-check on oneDNN; its float64 reference must not try NNPACK either: it would warn where the CPU lacks it.
    private static T OnOneDnnWithoutNnpack<T>(Func<T> check)
    {
        TorchRuntime.EnsureLoaded();
        var context = Context.Value;
        var (previousOneDnn, previousNnpack) = (context.OneDnnEnabled, context.NnpackEnabled);
        (context.OneDnnEnabled, context.NnpackEnabled) = (true, false);
        try
        {
            return check();
        }
        finally
        {
            (context.OneDnnEnabled, context.NnpackEnabled) = (previousOneDnn, previousNnpack);
        }
    }

    /// <summary>
    /// libtorch's global switches for oneDNN and NNPACK (at::globalContext()), which TorchSharp does
    /// not wrap. libtorch_cpu exports the member functions; on x86-64 the object is their first argument.
    /// </summary>
    private sealed unsafe class LibtorchContext
    {
        private readonly IntPtr context;
        private readonly delegate* unmanaged<IntPtr, byte> getOneDnn, getNnpack;
        private readonly delegate* unmanaged<IntPtr, byte, void> setOneDnn, setNnpack;

        private LibtorchContext(IntPtr library)
        {
            context = ((delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "_ZN2at13globalContextEv"))();
            getOneDnn = (delegate* unmanaged<IntPtr, byte>)NativeLibrary.GetExport(library, "_ZNK2at7Context17userEnabledMkldnnEv");
            setOneDnn = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb");
            getNnpack = (delegate* unmanaged<IntPtr, byte>)NativeLibrary.GetExport(library, "_ZNK2at7Context17userEnabledNNPACKEv");
            setNnpack = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(library, "_ZN2at7Context20setUserEnabledNNPACKEb");
        }

        public bool OneDnnEnabled
        {
            get => getOneDnn(context) != 0;
            set => setOneDnn(context, value ? (byte)1 : (byte)0);
        }

        public bool NnpackEnabled
        {
            get => getNnpack(context) != 0;
            set => setNnpack(context, value ? (byte)1 : (byte)0);
        }

        public static LibtorchContext Bind()
        {
            TorchRuntime.EnsureLoaded();
            if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var library))
                throw new FlareException("libtorch_cpu.so could not be loaded to select the convolution backend");
            return new LibtorchContext(library);
        }
    }
}
