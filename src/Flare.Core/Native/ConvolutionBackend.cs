using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flare.Native;

/// <summary>
/// Chooses libtorch's convolution backend for a model. On some CPUs (seen on this project's AMD
/// EPYC machines with AVX-512) the oneDNN build inside libtorch 2.10 computes wrong convolutions
/// whenever a channel count is not a multiple of its 16-channel block: wrong outputs for 24
/// channels, wrong input gradients for 4 or 8, on one thread or two, while PyTorch 1.13 on the
/// same machine is right. A small self-check against a float64 reference finds out once per
/// process; where oneDNN is faulty, models with such channel counts run on libtorch's own
/// (slower, correct) kernels, and models whose channels are all multiples of 16 keep oneDNN.
/// </summary>
public static class ConvolutionBackend
{
    private const int OneDnnChannelBlock = 16;
    private static readonly Lazy<bool> OneDnnFaulty = new(MeasureOneDnnFault);
    private static readonly Lazy<LibtorchContext> Context = new(LibtorchContext.Bind);

    /// <summary>True when this machine's oneDNN miscomputes convolutions over partial channel blocks.</summary>
    public static bool PartialChannelBlocksFaulty => OneDnnFaulty.Value;

    /// <summary>Whether libtorch currently routes convolutions through oneDNN.</summary>
    public static bool OneDnnEnabled => Context.Value.OneDnnEnabled;

    /// <summary>
    /// Selects the backend that computes this model correctly, preferring oneDNN. Returns a note for
    /// the user when the slower kernels had to be chosen, otherwise null.
    /// </summary>
    public static string? ConfigureFor(nn.Module model)
    {
        TorchRuntime.EnsureLoaded();
        var aligned = model.modules().Prepend(model).OfType<Conv2d>().All(IsAligned);
        var useOneDnn = aligned || !OneDnnFaulty.Value;
        Context.Value.OneDnnEnabled = useOneDnn;
        // NNPACK is the next candidate when oneDNN is off; where the CPU lacks it, libtorch warns
        // on every convolution. libtorch's own kernels are the correct, quiet choice.
        Context.Value.NnpackEnabled = useOneDnn;
        return useOneDnn
            ? null
            : "note: this CPU's oneDNN miscomputes convolutions whose channel counts are not multiples of 16; this model runs on libtorch's slower built-in kernels (widths that are multiples of 16 avoid this)";
    }

    // The input convolution of an image model has 3 channels; its forward pass is right and its
    // input gradient is never computed, so only the output channels matter there.
    private static bool IsAligned(Conv2d conv) =>
        conv.out_channels % OneDnnChannelBlock == 0 && (conv.in_channels % OneDnnChannelBlock == 0 || conv.in_channels <= 3);

    private static bool MeasureOneDnnFault()
    {
        TorchRuntime.EnsureLoaded();
        var context = Context.Value;
        var (previousOneDnn, previousNnpack) = (context.OneDnnEnabled, context.NnpackEnabled);
        // The float64 reference must not try NNPACK either: it would warn where the CPU lacks it.
        (context.OneDnnEnabled, context.NnpackEnabled) = (true, false);
        try
        {
            using var scope = NewDisposeScope();
            using var noGradGuard = torch.enable_grad();
            var generator = new torch.Generator(7);
            foreach (var channels in new[] { 4, 24 })
            {
                var input = torch.randn([32, channels, 16, 16], generator: generator);
                var weight = torch.randn([channels, channels, 3, 3], generator: generator) * 0.2;
                var upstream = torch.randn([32, channels, 16, 16], generator: generator);
                var x = input.clone().requires_grad_(true);
                var y = nn.functional.conv2d(x, weight, padding: [1, 1]);
                torch.autograd.backward([y], [upstream]);
                var x64 = input.to(ScalarType.Float64).requires_grad_(true);
                var y64 = nn.functional.conv2d(x64, weight.to(ScalarType.Float64), padding: [1, 1]);
                torch.autograd.backward([y64], [upstream.to(ScalarType.Float64)]);
                if (!Close(y, y64) || !Close(x.grad!, x64.grad!)) return true;
            }
            return false;
        }
        finally
        {
            (context.OneDnnEnabled, context.NnpackEnabled) = (previousOneDnn, previousNnpack);
        }
    }

    private static bool Close(Tensor value, Tensor reference) =>
        (value.to(ScalarType.Float64) - reference).abs().nan_to_num(1e30).max().item<double>() < 1e-3;

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
