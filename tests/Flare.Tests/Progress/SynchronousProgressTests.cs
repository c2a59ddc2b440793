using Flare.Progress;

namespace Flare.Tests.Progress;

public class SynchronousProgressTests
{
    [Fact]
    public void OutOfOrderCountsAdvanceTheStageOnlyPastTheLargestCount()
    {
        var stage = new CountingStage();
        var progress = new SynchronousProgress(stage);
        foreach (var count in new[] { 3, 1, 5, 5, 4, 9, 2 }) ((IProgress<int>)progress).Report(count);
        Assert.Equal(9, stage.Total);
        Assert.Equal([3L, 2L, 4L], stage.Advances);
    }

    private sealed class CountingStage : IProgressStage
    {
        public List<long> Advances { get; } = [];

        public long Total => Advances.Sum();

        public void Advance(long amount, string? status = null) => Advances.Add(amount);

        public void Dispose() { }
    }
}
