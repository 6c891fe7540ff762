using Percept.Data;
using Percept.Store;

namespace Percept.Tests;

/// <summary>One analysis of the demo model over the bundled test split, shared by the tests that read it.</summary>
public sealed class DemoRunFixture : IDisposable
{
    readonly TempDir _dir = new();

    public Run Run { get; }

    public DemoRunFixture()
    {
        Run = Analysis.Run(new AnalysisOptions
        {
            ModelPath = TestFiles.DemoModel,
            Data = new DataSource { Path = TestFiles.FashionImages, LabelsPath = TestFiles.FashionLabels, ClassNamesPath = TestFiles.FashionClasses },
            OutputDirectory = _dir["demo"],
            BatchSize = 500,
        });
    }

    public string Scratch(string name) => _dir[name];

    public void Dispose() => _dir.Dispose();
}
