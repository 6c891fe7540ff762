namespace Percept.Data;

/// <summary>
/// Where a dataset comes from, as the user names it: an IDX file, a <c>.npy</c> array, a CSV/TSV table, a manifest of
/// image paths (CSV, TSV or JSONL), a Parquet file or folder of Parquet shards, an Arrow IPC file, or a folder of images
/// with one sub-folder per class. <see cref="Open"/> picks the reader from the path (and, for CSV, from its first row).
/// </summary>
public sealed record DataSource
{
    /// <summary>Samples: IDX file (.gz or plain), .npy, .csv/.tsv table or manifest, .jsonl manifest, .parquet (or a folder of them), .arrow, or a folder of class sub-folders.</summary>
    public required string Path { get; init; }

    /// <summary>Labels for IDX (an IDX label file) or .npy samples (a .npy vector).</summary>
    public string? LabelsPath { get; init; }

    /// <summary>Label column of a CSV table, manifest, Parquet or Arrow file (default: a column named <c>label</c>; for Parquet also the Hugging Face <c>ClassLabel</c> feature).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>
    /// Column of the samples in a manifest (image paths) or a Parquet or Arrow file (encoded images or lists of numbers).
    /// Default: a manifest's first column whose first value names an image file; a table's Hugging Face <c>Image</c>
    /// feature, a column named <c>image</c>, else its first column of bytes, else of lists of numbers. Naming it makes a CSV a manifest.
    /// </summary>
    public string? ImageColumn { get; init; }

    /// <summary>Text file with one class name per line (index = label).</summary>
    public string? ClassNamesPath { get; init; }

    /// <summary>For models that take token ids: a text file with one token per line (line number = id), to show samples as text.</summary>
    public string? VocabularyPath { get; init; }

    /// <summary>
    /// The column of texts in a CSV, TSV, JSONL, Parquet or Arrow table, for a text model: each text is tokenized with
    /// <see cref="TokenizerPath"/> into the model's token ids.
    /// </summary>
    public string? TextColumn { get; init; }

    /// <summary>The text model's tokenizer: a Hugging Face <c>tokenizer.json</c> (WordPiece, BPE or Unigram) or a BERT <c>vocab.txt</c> (<see cref="TextTokenizer"/>).</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>Token ids per text when the model's sequence length is free (default 128); longer texts are cut, shorter ones padded.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Sequence length when neither the model nor <see cref="MaxLength"/> fixes it.</summary>
    public const int DefaultMaxLength = 128;

    /// <summary>The id that pads texts (the tokenizer's), which a model's derived attention mask leaves out; 0 without a tokenizer.</summary>
    public int PadId() => TokenizerPath != null ? TextTokenizer.Load(TokenizerPath).PadId : 0;

    /// <summary>Split name stored with every sample (default: guessed from the file name, else "all").</summary>
    public string? Split { get; init; }

    /// <summary>Fail on an image that does not decode instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>Image size for image folders when the model's input size is free.</summary>
    public int? ImageSize { get; init; }

    /// <summary>
    /// Whether the data may carry fields of their own besides samples and labels: a manifest's or a Parquet or Arrow
    /// table's other columns (<see cref="IDatasetFields"/>).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool CarriesFields =>
        TextColumn != null || RecordBatchSource.IsParquet(Path) || RecordBatchSource.IsArrow(Path) || ManifestDataset.IsJsonLines(Path)
        || (DelimitedText.IsDelimited(Path) && File.Exists(Path) && ManifestDataset.IsManifest(Path, ImageColumn));

    /// <summary>Opens the dataset. <paramref name="modelSampleShape"/> sizes decoded images; warnings go to <paramref name="warn"/>.</summary>
    public IDataset Open(int[] modelSampleShape, PreprocessOptions preprocess, Action<string>? warn = null)
    {
        IReadOnlyList<string>? classes = null;
        if (ClassNamesPath != null)
        {
            if (!File.Exists(ClassNamesPath)) throw new PerceptException($"file not found: {ClassNamesPath}");
            classes = File.ReadAllLines(ClassNamesPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        }
        (int, int, int) Target() => Preprocessor.ImageTarget(modelSampleShape, preprocess, ImageSize);
        string ext = System.IO.Path.GetExtension(Path).ToLowerInvariant();
        if (TextColumn != null || TokenizerPath != null) return OpenText(modelSampleShape, classes);
        if (MaxLength != null) throw new PerceptException($"{Terms.Option("max-length")} applies to texts read with {Terms.Option("tokenizer")}");
        if (RecordBatchSource.IsParquet(Path) || RecordBatchSource.IsArrow(Path))
        {
            if (LabelsPath != null) throw new PerceptException($"{Terms.Option("labels")} does not apply to a Parquet or Arrow table; name its label column with {Terms.Option("label-column")}");
            return new TableDataset(Path, ImageColumn, LabelColumn, classes, Target, Strict, warn, Split);
        }
        if (Directory.Exists(Path))
        {
            if (LabelsPath != null) throw new PerceptException($"{Terms.Option("labels")} does not apply to an image folder: its sub-folders are the classes");
            var (h, w, c) = Target();
            return new ImageFolderDataset(Path, w, h, c, Strict, warn, Split);
        }
        if (!File.Exists(Path)) throw new PerceptException($"file not found: {Path}");
        if (LabelsPath != null && !File.Exists(LabelsPath)) throw new PerceptException($"file not found: {LabelsPath}");
        bool delimited = DelimitedText.IsDelimited(Path);
        if (delimited || ManifestDataset.IsJsonLines(Path))
        {
            if (LabelsPath != null) throw new PerceptException($"{Terms.Option("labels")} does not apply to a CSV table or manifest; name its label column with {Terms.Option("label-column")}");
            if (ManifestDataset.IsManifest(Path, ImageColumn))
            {
                var (h, w, c) = Target();
                return new ManifestDataset(Path, ImageColumn, LabelColumn, classes, w, h, c, Strict, warn, Split);
            }
            return new CsvDataset(Path, LabelColumn, classes, Split);
        }
        if (ImageColumn != null) throw new PerceptException($"{Terms.Option("image-column")} applies to manifests (CSV, TSV, JSONL), Parquet and Arrow files");
        return ext switch
        {
            ".npy" => new NpyDataset(Path, LabelsPath, classes, Split),
            _ => new IdxDataset(Path, LabelsPath, classes, Split),
        };
    }

    /// <summary>A table of texts, tokenized for the model (<see cref="TextDataset"/>).</summary>
    TextDataset OpenText(int[] modelSampleShape, IReadOnlyList<string>? classes)
    {
        if (TextColumn == null)
            throw new PerceptException($"{Terms.Option("tokenizer")} tokenizes texts: name their column with {Terms.Option("text-column")}");
        if (TokenizerPath == null)
            throw new PerceptException($"{Terms.Option("text-column")} needs the model's tokenizer: {Terms.Option("tokenizer")} tokenizer.json (or a BERT vocab.txt)");
        if (!TextDataset.IsTable(Path))
            throw new PerceptException($"{Terms.Option("text-column")} reads a CSV, TSV, JSONL, Parquet or Arrow table; {Path} is not one");
        if (LabelsPath != null) throw new PerceptException($"{Terms.Option("labels")} does not apply to a table of texts; name its label column with {Terms.Option("label-column")}");
        if (ImageColumn != null) throw new PerceptException($"{Terms.Option("image-column")} does not apply to a table of texts ({Terms.Option("text-column")} names its samples)");
        if (VocabularyPath != null)
            throw new PerceptException($"{Terms.Option("vocab")} does not apply with {Terms.Option("tokenizer")}: the tokenizer's vocabulary shows the tokens");
        if (!File.Exists(Path) && !Directory.Exists(Path)) throw new PerceptException($"file not found: {Path}");
        if (MaxLength is <= 0) throw new PerceptException($"{Terms.Option("max-length")} must be positive");
        int length;
        if (modelSampleShape is [> 0 and var fixedLength])
        {
            if (MaxLength is { } asked && asked != fixedLength)
                throw new PerceptException($"{Terms.Option("max-length")} {asked}: the model takes exactly {fixedLength} tokens per text");
            length = fixedLength;
        }
        else length = MaxLength ?? DefaultMaxLength;
        var tokenizer = TextTokenizer.Load(TokenizerPath);
        return new TextDataset(Path, TextColumn, LabelColumn, classes, tokenizer, length, Terms.Option("max-length"), Split);
    }
}
