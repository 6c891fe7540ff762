namespace Percept.Core;

/// <summary>Progress of a stage of an analysis.</summary>
/// <param name="Stage">"analyze" (model over the data), "vectors" (building perception vectors), "map" or "insights".</param>
public readonly record struct AnalysisProgress(string Stage, long Done, long Total);
