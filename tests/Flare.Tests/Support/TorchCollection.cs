namespace Flare.Tests.Support;

/// <summary>
/// Tests that run libtorch share one serial collection: libtorch already uses every core, and the
/// convolution backend switch (see ConvolutionBackend) is process-wide state.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "libtorch";
}
