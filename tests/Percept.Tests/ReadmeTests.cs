using System.Text.RegularExpressions;
using Percept.Data;
using Percept.Neighbors;
using Percept.Perception;

namespace Percept.Tests;

/// <summary>Keeps the README true: its C# example is this test's code, run against the demo files.</summary>
[Collection(nameof(CurrentDirectoryCollection))]
public partial class ReadmeTests
{
    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)] private static partial Regex CSharpBlock();

    [Fact]
    public void Readme_csharp_example_is_this_tests_code_and_runs()
    {
        string readme = File.ReadAllText(Path.Combine(TestFiles.Root, "README.md"));
        string example = CSharpBlock().Match(readme).Groups[1].Value.Trim();
        string source = File.ReadAllText(Path.Combine(TestFiles.Root, "tests", "Percept.Tests", "ReadmeTests.cs"));
        var region = Regex.Match(source, @"#region readme\n(.*?)\n\s*#endregion", RegexOptions.Singleline).Groups[1].Value;
        string code = string.Join("\n", region.Split('\n').Select(l => l.Length >= 12 ? l[12..] : l.TrimStart())).Trim();
        Assert.Equal(code, example.Replace("using Percept;\nusing Percept.Data;\nusing Percept.Neighbors;\nusing Percept.Perception;\n\n", ""));

        // Run it where the README's relative paths resolve: a scratch folder linked to the demo files.
        using var dir = new TempDir();
        Directory.CreateSymbolicLink(dir["models"], Path.Combine(TestFiles.Root, "models"));
        Directory.CreateSymbolicLink(dir["data"], Path.Combine(TestFiles.Root, "data"));
        string previous = Environment.CurrentDirectory;
        var output = new StringWriter();
        var stdout = Console.Out;
        Environment.CurrentDirectory = dir.Path;
        Console.SetOut(output);
        try
        {
            #region readme
            var run = Analysis.Run(new AnalysisOptions
            {
                ModelPath = "models/fmnist-cnn/epoch-5.onnx",
                Data = new DataSource
                {
                    Path = "data/fashion-mnist/t10k-images-idx3-ubyte.gz",
                    LabelsPath = "data/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                },
                OutputDirectory = "runs/fmnist",
                Overwrite = true,
            });
            using var vectors = run.Open(PerceptionFields.Embedding);   // rows by range, whatever the size
            var first = new float[vectors.Columns];
            vectors.ReadRow(0, first);
            using var samples = run.OpenSamples();
            float[] loss = samples.ReadFloat32(PerceptionFields.Loss);
            using var similar = new SimilarSamples(run);                  // from the run's stored neighbour graph
            var (nearest, cosine) = similar.Nearest(0, 5)[0];
            Console.WriteLine($"{vectors.Rows} samples, {vectors.Columns}-d perception vectors, accuracy {run.Manifest.Summary?.Accuracy:P1}");
            Console.WriteLine($"sample 0: loss {loss[0]:F3}, most alike #{nearest} (cosine {cosine:F2})");
            #endregion
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Console.SetOut(stdout);
        }
        var lines = output.ToString().Trim().Split('\n');
        Assert.Equal("10000 samples, 250-d perception vectors, accuracy 89.7 %", lines[0]);
        Assert.Matches(@"^sample 0: loss \d+\.\d{3}, most alike #\d+ \(cosine 0\.\d\d\)$", lines[1]);
    }
}

/// <summary>The README's commands and descriptions, as a new user follows them.</summary>
public partial class ReadmeCommandTests
{
    static string Readme => File.ReadAllText(Path.Combine(TestFiles.Root, "README.md"));

    [GeneratedRegex(@"<!-- transcript:begin[^\n]*-->\n```\n\$ [^\n]*\n(.*?)```", RegexOptions.Singleline)] private static partial Regex Transcript();
    [GeneratedRegex(@"\d+(?:[.,]\d+)*")] private static partial Regex Number();
    /// <summary>A path into the repository (not a pattern such as <c>epoch-*.onnx</c> or <c>epoch-1…5.onnx</c>).</summary>
    [GeneratedRegex(@"(?<![\w/.-])((?:models|data|tests|tools|bench|docs|examples|web)/[\w./-]*\w)(?![\w*…-])")] private static partial Regex RepositoryPath();

    /// <summary>
    /// A line with its numbers as # (timings, rates and counts change; the words and their order must not). A stage's
    /// rate shows only when the stage took a twentieth of a second or more, which depends on the machine: it is left out.
    /// </summary>
    static string Shape(string line) => Number().Replace(line, "#").Replace(", # samples/s", "", StringComparison.Ordinal).TrimEnd();

    [Fact]
    public void The_demo_transcript_has_the_shape_of_a_fresh_demo()
    {
        var transcript = Transcript().Match(Readme);
        Assert.True(transcript.Success, "the README has no demo transcript between its markers");
        using var dir = new TempDir();
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, Percept.Cli.CommandLine.Run(["demo", "--no-serve", "--out", dir["runs/demo"]], stdout, stderr, default));
        // The transcript shows the run under a clone at /home/you/percept; a progress line with an ETA is the machine's pace.
        var fresh = stdout.ToString().Replace(dir["runs/demo"], "/home/you/percept/runs/demo", StringComparison.Ordinal)
            .Split('\n').Where(l => !l.Contains("ETA", StringComparison.Ordinal) && l.Length > 0).Select(Shape).ToArray();
        var shown = transcript.Groups[1].Value.Split('\n').Where(l => l.Length > 0).Select(Shape).ToArray();
        Assert.Equal(shown, fresh);
    }

    [Fact]
    public void Every_repository_file_the_readme_names_exists()
    {
        var named = RepositoryPath().Matches(Readme).Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.Contains("tests/fixtures/text/model.onnx", named);
        var missing = named.Where(p => !File.Exists(Path.Combine(TestFiles.Root, p)) && !Directory.Exists(Path.Combine(TestFiles.Root, p))).ToArray();
        Assert.True(missing.Length == 0, "the README names files the repository does not hold: " + string.Join(", ", missing));
    }

    [Fact]
    public void The_readme_text_examples_run_on_the_repository_fixtures()
    {
        // Token ids with --vocab, and the same reviews as raw text with their tokenizer.json.
        var lines = Readme.Split('\n').Where(l => l.StartsWith("percept analyze --model tests/fixtures/text/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        using var dir = new TempDir();
        foreach (var line in lines)
        {
            var args = line[..line.IndexOf('#', StringComparison.Ordinal)].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(a => a.StartsWith("tests/", StringComparison.Ordinal) ? Path.Combine(TestFiles.Root, a) : a.StartsWith("runs/", StringComparison.Ordinal) ? dir[a] : a).ToArray();
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Assert.True(Percept.Cli.CommandLine.Run(args, stdout, stderr, default) == 0, stderr.ToString());
            Assert.Contains("accuracy: 100.00 % on 600 labelled samples", stdout.ToString());
        }
        Assert.True(File.Exists(dir["runs/reviews/run.json"]) && File.Exists(dir["runs/reviews-text/run.json"]));
    }

    [Fact]
    public void The_readme_table_and_manifest_examples_run_on_the_repository_fixtures()
    {
        var lines = Readme.Split('\n').Where(l => l.StartsWith("percept analyze --model models/fmnist-cnn/epoch-5.onnx --data tests/fixtures/tables/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        using var dir = new TempDir();
        foreach (var line in lines)
        {
            var args = line[..line.IndexOf('#', StringComparison.Ordinal)].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(a => a.StartsWith("runs/", StringComparison.Ordinal) ? dir[a] : a.Contains('/', StringComparison.Ordinal) ? Path.Combine(TestFiles.Root, a) : a)
                .Append("--map").Append("none").ToArray();
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Assert.True(Percept.Cli.CommandLine.Run(args, stdout, stderr, default) == 0, stderr.ToString());
            // Class names reach the run from the Parquet file's metadata and from --classes alike: the demo model's accuracy on these 64 images.
            Assert.Contains("accuracy: 85.94 % on 64 labelled samples", stdout.ToString());
        }
    }

    [Fact]
    public void Fashion_mnist_examples_name_the_class_file()
    {
        // A command continued with a backslash is one command.
        var commands = Regex.Split(Readme.Replace("\\\n", " "), "\n").Where(l => Regex.IsMatch(l, @"^percept (analyze|explain) ") && l.Contains("t10k-")).ToArray();
        Assert.NotEmpty(commands);
        Assert.All(commands, c => Assert.Contains("--classes", c));
    }

    [Fact]
    public void The_demo_transcript_shows_the_run_under_the_clone()
    {
        var run = Regex.Match(Readme, @"^run: (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        Assert.EndsWith("/runs/demo", run);
        Assert.DoesNotContain("~", run);
        Assert.Contains($"percept serve {run}\n", Readme);
        // The demo command writes there (DemoCommand's default).
        Assert.Contains("Path.Combine(root, \"runs\", \"demo\")", File.ReadAllText(Path.Combine(TestFiles.Root, "src", "Percept.Cli", "Commands", "DemoCommand.cs")));
    }

    [Fact]
    public void The_report_is_not_called_the_same_page()
    {
        // The report has no Sample Analysis (heat maps need the server); the README says what it holds.
        Assert.DoesNotContain("writes the same page", Readme);
        Assert.Contains("no Sample Analysis", Readme);
    }
}

/// <summary>Tests that change the process's current directory run alone.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;
