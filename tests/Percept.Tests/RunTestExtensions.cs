using Percept.Store;

namespace Percept.Tests;

/// <summary>
/// Reads a run's fields by the names users see (as <c>percept export</c> does), for tests that check what a run holds
/// against values computed independently.
/// </summary>
static class RunTestExtensions
{
    /// <summary>A matrix field by name (<c>layer:NAME</c> by layer, node or tensor name), whole, as float32.</summary>
    public static float[] ReadMatrix(this Run run, string field, out int rows, out int columns)
    {
        var entry = RunExporter.FindMatrix(run, field)
            ?? (RunSchema.Find(field) is { } declared ? run.Entry(declared) : throw new PerceptException($"run has no matrix field '{field}'"));
        using var reader = run.Open(entry);
        rows = reader.Rows;
        columns = reader.Columns;
        if (entry.Type == FieldType.Int32) return reader.ReadAllInt32().Select(v => (float)v).ToArray();
        return reader.ReadAll();
    }

    /// <summary>A column of the samples table by name, values as the database holds them.</summary>
    public static object?[] ReadColumn(this Run run, string column)
    {
        using var table = run.OpenSamples();
        return table.ReadValues(column);
    }

    /// <summary>A file of the run (tests of the on-disk format).</summary>
    public static string FileOf(this Run run, string field) =>
        Path.Combine(run.Directory, run.Find(field)?.File ?? throw new PerceptException($"run has no field '{field}'"));
}
