namespace Percept.Perception;

/// <summary>One row of a run's samples table, in the order of <see cref="PerceptionFields.Columns"/>.</summary>
internal record struct SampleRow(long Index, string Id, string Split, int? Label, string? LabelName, int? Prediction,
    string? PredictionName, bool? Correct, float? Confidence, float? Margin, float? Entropy, float? Loss, float? MeanIntensity);
