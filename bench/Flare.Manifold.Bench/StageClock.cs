using System.Diagnostics;
using Flare.Manifold;

namespace Flare.Manifold.Bench;

/// <summary>Times stages from progress reports: a stage runs from its first report until the next stage's first report.</summary>
internal sealed class StageClock : IProgress<StageProgress>
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<(string Stage, double Start)> _starts = [];

    public void Report(StageProgress value)
    {
        lock (_starts)
        {
            if (_starts.Count == 0 || _starts[^1].Stage != value.Stage)
            {
                _starts.Add((value.Stage, _watch.Elapsed.TotalSeconds));
            }
        }
    }

    public void Mark(string stage) => Report(new StageProgress(stage, 0));

    public IEnumerable<(string Stage, double Seconds)> Durations()
    {
        double end = _watch.Elapsed.TotalSeconds;
        var merged = new List<(string Stage, double Seconds)>();
        for (int i = 0; i < _starts.Count; i++)
        {
            double stop = i + 1 < _starts.Count ? _starts[i + 1].Start : end;
            string stage = _starts[i].Stage.Split(':')[0];
            int existing = merged.FindIndex(m => m.Stage == stage);
            if (existing >= 0)
            {
                merged[existing] = (stage, merged[existing].Seconds + stop - _starts[i].Start);
            }
            else
            {
                merged.Add((stage, stop - _starts[i].Start));
            }
        }

        return merged;
    }
}
