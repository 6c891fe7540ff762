using System.Text;
using Percept.Insights;
using Percept.Neighbors;
using Percept.Perception;
using Percept.Projection;
using Percept.Store;

namespace Percept;

/// <summary>
/// The schema of a run: every field any stage declares, in pipeline order. The store knows none of them; readers that
/// want to name a field a run may lack (to say what computes it) look it up here. docs/run-format.md's table of fields
/// is made from it (a test keeps the two the same).
/// </summary>
public static class RunSchema
{
    /// <summary>Every declared field: perception, neighbours, map, insights, a training's history.</summary>
    public static IReadOnlyList<Field> All => [.. PerceptionFields.All, .. NeighborFields.All, .. MapFields.All, .. InsightFields.All, .. TrainingFields.All];

    /// <summary>The declared field <paramref name="name"/> names (a family's member included), or null.</summary>
    public static Field? Find(string name) => All.FirstOrDefault(f => f.Names(name)) is { } f && f.IsFamily ? f.Member(name[(f.Name.Length + 1)..]) : All.FirstOrDefault(f => f.Names(name));

    /// <summary>The table of fields in docs/run-format.md: name, stage, type and layout, meaning.</summary>
    public static string MarkdownTable()
    {
        var text = new StringBuilder("| field | stage | type | stored as | what it holds |\n|---|---|---|---|---|\n");
        foreach (var f in All)
        {
            string name = f.IsFamily ? $"`{f.Name}:NAME`" : $"`{f.Name}`";
            string type = f.Type.ToString().ToLowerInvariant();
            string layout = f.Layout switch
            {
                FieldLayout.Column => "column of the samples table",
                FieldLayout.Document => f.Type == FieldType.Json ? "JSON document" : "text document",
                _ when !f.PerSample => "matrix (run-wide)",
                _ when f.Kind is FieldKind.Number or FieldKind.Count or FieldKind.Category => "vector, one value per sample",
                _ => "matrix, one row per sample",
            };
            text.Append($"| {name} | {f.Owner} | {type} | {layout} | {f.Description.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }
        return text.ToString();
    }
}
