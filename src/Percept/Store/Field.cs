namespace Percept.Store;

/// <summary>The element type of a field.</summary>
public enum FieldType
{
    Float32,
    Int32,
    Int64,
    Bool,
    Text,
    /// <summary>A JSON document (a <see cref="FieldLayout.Document"/>).</summary>
    Json,
}

/// <summary>How a field is laid out in a run.</summary>
public enum FieldLayout
{
    /// <summary>Rows of <see cref="Field.Width"/> numbers (float32 or int32): one per sample, or a run-wide table of numbers.</summary>
    Matrix,
    /// <summary>One nullable value per sample, a column of the samples table, queried with the others.</summary>
    Column,
    /// <summary>One document per run (JSON or lines of text).</summary>
    Document,
}

/// <summary>What a field's values mean, so that a reader can show any field it has never heard of.</summary>
public enum FieldKind
{
    /// <summary>Several numbers per sample (logits, perception vectors, a map).</summary>
    Vector,
    /// <summary>A real number per sample (loss, a score), shown on a continuous scale.</summary>
    Number,
    /// <summary>A small whole number per sample (how often a sample was forgotten), shown on a stepped scale.</summary>
    Count,
    /// <summary>A category code per sample (a class, a cluster, true/false).</summary>
    Category,
    /// <summary>A name per sample that is not a category (an id, a class name next to its code): shown, never plotted.</summary>
    Text,
    /// <summary>Not a per-sample value (statistics, a graph's neighbour lists, a document).</summary>
    Other,
}

/// <summary>
/// One field of a run's schema: its name, element type, layout, per-sample width and meaning, and the stage that owns
/// it. Each stage declares the fields it writes (<c>PerceptionFields</c>, <c>NeighborFields</c>, <c>MapFields</c>,
/// <c>InsightFields</c>, <c>TrainingFields</c>); the store knows none of their names and keeps whatever it is given,
/// recording each field in the run's manifest (<see cref="FieldEntry"/>) so that any reader can find and show it.
/// </summary>
public sealed record Field
{
    /// <summary>The field's name in the run (<c>embedding</c>; <c>layer:conv1</c> for a member of a family).</summary>
    public required string Name { get; init; }
    public required FieldType Type { get; init; }
    public FieldLayout Layout { get; init; } = FieldLayout.Matrix;
    /// <summary>Values per row of a matrix field; 0 when it is known only when the field is written (a layer's channels).</summary>
    public int Width { get; init; }
    public FieldKind Kind { get; init; } = FieldKind.Vector;
    /// <summary>Whether a matrix field has one row per sample (else it is a run-wide table, such as a layer's statistics).</summary>
    public bool PerSample { get; init; } = true;
    /// <summary>The stage that writes it: the last part of its namespace (<c>Perception</c>, <c>Insights</c>).</summary>
    public required string Owner { get; init; }
    /// <summary>One line: what the values are.</summary>
    public required string Description { get; init; }
    /// <summary>A category field's names, in code order (for example <c>incorrect</c>, <c>correct</c>).</summary>
    public IReadOnlyList<string>? Categories { get; init; }
    /// <summary>A category field whose codes are the run's classes (its categories are the run's class names).</summary>
    public bool ClassCodes { get; init; }
    /// <summary>A family of fields (<c>layer</c>): its members are named <c>layer:NAME</c> by <see cref="Member"/>.</summary>
    public bool IsFamily { get; init; }
    /// <summary>When the field may be absent because it is computed later: the operation that computes it (a <see cref="Terms.Command"/> key).</summary>
    public string? MadeBy { get; init; }
    /// <summary>When a run may lack the field for good: why (for the message that says it has none).</summary>
    public string? Absent { get; init; }

    /// <summary>The member <paramref name="member"/> of this family (<c>layer</c> → <c>layer:conv1</c>).</summary>
    public Field Member(string member)
    {
        if (!IsFamily) throw new InvalidOperationException($"field '{Name}' is not a family");
        return this with { Name = $"{Name}:{member}", IsFamily = false };
    }

    /// <summary>The family this field is a member of, or null (<c>layer:conv1</c> → <c>layer</c>).</summary>
    public string? FamilyName => Name.IndexOf(':', StringComparison.Ordinal) is int i and > 0 ? Name[..i] : null;

    /// <summary>Whether <paramref name="name"/> names this field or, for a family, one of its members.</summary>
    public bool Names(string name) => IsFamily ? name.StartsWith(Name + ":", StringComparison.Ordinal) : name == Name;
}

/// <summary>
/// A field as the manifest records it: the schema's declaration and what was written (rows, width, where it lies in the
/// run). Readers that know no stage (the dashboard, <c>percept export</c>) work from these entries alone.
/// </summary>
/// <param name="File">Where the store keeps it, relative to the run; the store's business (null for table columns).</param>
public sealed record FieldEntry(string Name, string Owner, FieldType Type, FieldLayout Layout, FieldKind Kind, bool PerSample, long Rows, int Width,
    string? File, string Description, IReadOnlyList<string>? Categories = null, bool ClassCodes = false)
{
    /// <summary>Values in the field (rows × width).</summary>
    public long Elements => Rows * Math.Max(1, Width);

    internal static FieldEntry Of(Field f, long rows, int width, string? file) =>
        new(f.Name, f.Owner, f.Type, f.Layout, f.Kind, f.PerSample, rows, width, file, f.Description, f.Categories, f.ClassCodes);
}
