using Flare.Native;
using Flare.Tests.Support;
using Flare.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flare.Tests.Training;

[Collection(TorchCollection.Name)]
public class BatchTensorsTests
{
    [Fact]
    public void CopyOutReadsAnyLayoutInRowMajorOrder()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var values = torch.arange(24, dtype: ScalarType.Float32).reshape(2, 3, 4);
        var destination = new float[24];

        BatchTensors.CopyOut(values.permute(0, 2, 1).contiguous().permute(0, 2, 1), destination.AsSpan());

        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), destination);
        var labels = new int[3];
        BatchTensors.CopyOut(torch.tensor(new[] { 4, 1, 7 }), labels.AsSpan());
        Assert.Equal([4, 1, 7], labels);
        Assert.Throws<ArgumentException>(() => BatchTensors.CopyOut(torch.ones(3, dtype: ScalarType.Float64), new float[3].AsSpan()));
    }
}
