using Flare.Attacks;
using Flare.Tests.Support;

namespace Flare.Tests.Attacks;

public class PoisonManifestTests
{
    [Fact]
    public void WriteThenReadRoundTripsFieldsThatNeedQuoting()
    {
        using var temp = new TempFolder();
        PoisonManifestEntry[] entries =
        [
            new("cat/00001.png", "cat", "dog", "dog/a,b.png", Poisoned: true, Cover: false),
            new("dog/00000.png", "dog", "dog", "dog/say \"hi\".png", Poisoned: false, Cover: true),
            new("dog/00002.png", "dog", "dog", "dog/plain.png", Poisoned: false, Cover: false),
        ];
        var file = temp.Combine("manifest.csv");
        new PoisonManifest(entries).Write(file);

        var read = PoisonManifest.Read(file);
        Assert.Equal(entries, read.Entries);
        Assert.Equal((3, 1, 1), (read.Count, read.PoisonedCount, read.CoverCount));
        Assert.StartsWith("path,label,original_label,source,poisoned,cover\n", File.ReadAllText(file));
        // A folder holding manifest.csv reads the same.
        Assert.Equal(entries, PoisonManifest.Read(temp.Path).Entries);
    }

    [Fact]
    public void LooksUpByRelativePathWithEitherSeparator()
    {
        var manifest = new PoisonManifest([new("cat/00001.png", "cat", "dog", "dog/x.png", true, false)]);
        Assert.True(manifest.IsPoisoned("cat/00001.png"));
        Assert.True(manifest.IsPoisoned("cat\\00001.png"));
        Assert.True(manifest.IsPoisoned("./cat/00001.png"));
        Assert.False(manifest.TryGet("cat/00002.png", out _));
        Assert.Throws<KeyNotFoundException>(() => manifest["dog/00001.png"]);
    }

    [Fact]
    public void ReadsColumnsInAnyOrderWithBomCrlfExtraColumnsAndBlankLines()
    {
        using var temp = new TempFolder();
        var file = temp.Combine("m.csv");
        File.WriteAllText(file, "\uFEFFcover,POISONED,source,label,path,original_label,note\r\n" +
                                "0,true,dog/x.png,cat,cat/1.png,dog,\"a\r\nmulti-line note\"\r\n" +
                                "\r\n" +
                                "1,0,cat/y.png,cat,cat/2.png,cat,\r\n");
        var read = PoisonManifest.Read(file);
        Assert.Equal(
            [new PoisonManifestEntry("cat/1.png", "cat", "dog", "dog/x.png", true, false), new PoisonManifestEntry("cat/2.png", "cat", "cat", "cat/y.png", false, true)],
            read.Entries);
    }

    [Theory]
    [InlineData("", "empty manifest")]
    [InlineData("path,label,original_label,source,poisoned\n", "no 'cover' column")]
    [InlineData("path,label,original_label,source,poisoned,cover\na.png,x,y,s,2,0\n", "m.csv:2: poisoned must be 0 or 1")]
    [InlineData("path,label,original_label,source,poisoned,cover\na.png,x,y,s,1\n", "m.csv:2: 5 fields")]
    [InlineData("path,label,original_label,source,poisoned,cover\na.png,x,y,s,1,0\na.png,x,y,t,0,0\n", "m.csv:3: path a.png is listed twice")]
    [InlineData("path,label,original_label,source,poisoned,cover\na.png,x,y,s,1,1\n", "both poisoned and cover")]
    [InlineData("path,label,original_label,source,poisoned,cover\n\"a.png,x,y,s,1,0\n", "unterminated quoted field")]
    public void MalformedManifestsGiveAnErrorWithFileAndLine(string text, string expected)
    {
        using var temp = new TempFolder();
        var file = temp.Combine("m.csv");
        File.WriteAllText(file, text);
        Assert.Contains(expected, Assert.Throws<FlareException>(() => PoisonManifest.Read(file)).Message);
        Assert.Contains("manifest not found", Assert.Throws<FlareException>(() => PoisonManifest.Read(temp.Combine("none.csv"))).Message);
    }
}
