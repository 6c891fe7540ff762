using Percept.Server;

namespace Percept.Tests.Server;

public class PngCacheTests
{
    [Fact]
    public void The_cache_stays_within_its_bytes_and_drops_the_least_recently_used()
    {
        using var dir = new TempDir();
        var cache = new PngCache(dir.Path, maxBytes: 1000);
        int drawn = 0;
        byte[] Draw(int n) { drawn++; return Enumerable.Repeat((byte)n, 300).ToArray(); }
        for (int n = 0; n < 3; n++) cache.GetOrAdd($"a/{n}.png", () => Draw(n));
        // Using 0 again makes 1 the least recently used.
        Assert.Equal(0, cache.GetOrAdd("a/0.png", () => Draw(99))[0]);
        Assert.Equal(3, drawn);
        cache.GetOrAdd("a/3.png", () => Draw(3));
        Assert.True(cache.Bytes <= 1000, $"{cache.Bytes} bytes");
        var left = Directory.GetFiles(Path.Combine(dir.Path, "a")).Select(f => Path.GetFileName(f)!).Order().ToArray();
        Assert.Equal(["0.png", "2.png", "3.png"], left);
        Assert.Equal(1000 - 100, Directory.GetFiles(Path.Combine(dir.Path, "a")).Sum(f => new FileInfo(f).Length));
        // A new server over the same folder counts what is already there.
        var again = new PngCache(dir.Path, maxBytes: 700);
        again.GetOrAdd("a/4.png", () => Draw(4));
        Assert.True(again.Bytes <= 700 && Directory.GetFiles(Path.Combine(dir.Path, "a")).Sum(f => new FileInfo(f).Length) <= 700);
        Assert.True(File.Exists(Path.Combine(dir.Path, "a", "4.png")));
    }
}
