namespace Percept.Attribution;

/// <summary>What an attribution explains.</summary>
/// <param name="Kind">"class" (a class score), "loss" (cross-entropy against the label), "similarity" (to another sample),
/// "class-mean" (the cosine with a class's mean direction in perception space, for a model without class scores).</param>
/// <param name="Class">The class for "class" and "class-mean" targets; the label for "loss"; the sample for "similarity".</param>
public sealed record AttributionTarget(string Kind, int Class)
{
    public string Name(IReadOnlyList<string>? classes) => Kind switch
    {
        "loss" => "loss",
        "similarity" => $"sample {Class}",
        _ => classes != null && Class < classes.Count ? classes[Class] : $"class {Class}",
    };
}

/// <summary>A heat map per target over the input's spatial grid.</summary>
/// <param name="Maps"><c>Targets × Height × Width</c>, row-major.</param>
/// <param name="Notes">Per target, what to know about its map, or null (integrated gradients: the gradients spent and the completeness gap).</param>
public sealed record AttributionResult(float[] Maps, int Height, int Width, IReadOnlyList<AttributionTarget> Targets, float[] Scores,
    IReadOnlyList<string?>? Notes = null);
