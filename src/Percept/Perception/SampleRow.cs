namespace Percept.Perception;

/// <summary>One row of a run's <c>samples</c> table.</summary>
internal record struct SampleRow(long Index, string Id, string Split, int? Label, string? LabelName, int? Prediction,
    string? PredictionName, bool? Correct, float? Confidence, float? Margin, float? Entropy, float? Loss, float? MeanIntensity);

/// <summary>
/// Where a perception pass writes: files inside the run being written (pooled layers, class scores, vectors), and one
/// row of results per sample. The run's writer (Store) implements it, so this stage needs no storage of its own.
/// </summary>
internal interface IPerceptionOutput
{
    /// <summary>The path of <paramref name="relative"/> inside the run being written.</summary>
    string PathOf(string relative);

    /// <summary>Stores one sample's results.</summary>
    void Append(in SampleRow row);
}
