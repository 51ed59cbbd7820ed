<#
.SYNOPSIS
    Collects what kmslens needs from one KMS host or client into <COMPUTERNAME>.zip.

.DESCRIPTION
    Run it on every KMS host and on the clients that fail to activate (as Administrator, for the
    event logs), then give kmslens the zips or the folders:

        powershell -ExecutionPolicy Bypass -File collect-kms-bundle.ps1 [-OutDir C:\kms-case]
        kmslens analyze C:\kms-case

    It writes, as the KMS troubleshooting guide asks for them:
      Application.evtx               wevtutil epl Application (client requests 12288/12289,
                                     host DNS publishing 12293/12294)
      Key Management Service.evtx    wevtutil epl "Key Management Service" (hosts only: 12290)
      slmgr-dlv.txt                  cscript //nologo slmgr.vbs /dlv all
      nslookup-vlmcs.txt             nslookup -type=srv _vlmcs._tcp.<domain>
      w32tm-status.txt               w32tm /query /status
      timezone.txt                   tzutil /g and the UTC offset
    Windows PowerShell 5.1 compatible; no module is needed. Nothing is changed on the machine.
#>
[CmdletBinding()]
param(
    # Folder the machine's folder and zip are written into.
    [string]$OutDir = (Get-Location).Path,
    # DNS domain whose _vlmcs._tcp record to look up; the machine's own domain by default.
    [string]$Domain = '',
    # Keep the folder beside the zip (give kmslens one or the other, not both).
    [switch]$KeepFolder
)

$ErrorActionPreference = 'Continue'
$name = $env:COMPUTERNAME
$dir = Join-Path $OutDir $name
New-Item -ItemType Directory -Force -Path $dir | Out-Null

# Text files as UTF-16LE with BOM, as Windows tools write them; kmslens reads any encoding.
function Save-Output([string]$File, [object[]]$Lines) {
    $Lines | Out-File -FilePath (Join-Path $dir $File) -Encoding Unicode -Width 4096
}

function Export-Log([string]$Log, [string]$File) {
    $target = Join-Path $dir $File
    if (Test-Path $target) { Remove-Item -Force $target }
    & wevtutil.exe epl $Log $target 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "wevtutil epl `"$Log`" failed (exit $LASTEXITCODE): run as Administrator"
    }
}

Export-Log 'Application' 'Application.evtx'
& wevtutil.exe gl 'Key Management Service' 2>&1 | Out-Null
if ($LASTEXITCODE -eq 0) {
    Export-Log 'Key Management Service' 'Key Management Service.evtx'
}

$slmgr = Join-Path $env:SystemRoot 'System32\slmgr.vbs'
Save-Output 'slmgr-dlv.txt' (& cscript.exe //nologo $slmgr /dlv all 2>&1)

if (-not $Domain) {
    $Domain = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties().DomainName
}
if (-not $Domain) {
    $Domain = (Get-WmiObject -Class Win32_ComputerSystem).Domain
}
$query = "_vlmcs._tcp.$Domain"
# nslookup writes its errors on stderr: keep them, they are the evidence.
$lookup = & nslookup.exe -type=srv $query 2>&1 | ForEach-Object { "$_" }
Save-Output 'nslookup-vlmcs.txt' (@("> nslookup -type=srv $query") + $lookup)

Save-Output 'w32tm-status.txt' (& w32tm.exe /query /status 2>&1 | ForEach-Object { "$_" })

$tz = [System.TimeZoneInfo]::Local
$now = Get-Date
Save-Output 'timezone.txt' @(
    "Time zone: $(& tzutil.exe /g)",
    "UTC offset: $($tz.GetUtcOffset($now).ToString())",
    "Local time: $($now.ToString('yyyy-MM-dd HH:mm:ss'))",
    "UTC time: $($now.ToUniversalTime().ToString('yyyy-MM-dd HH:mm:ss'))",
    "Computer: $name",
    "Domain: $Domain"
)

$zip = Join-Path $OutDir "$name.zip"
if (Test-Path $zip) { Remove-Item -Force $zip }
Add-Type -AssemblyName System.IO.Compression.FileSystem
[System.IO.Compression.ZipFile]::CreateFromDirectory($dir, $zip, 'Optimal', $true)
if (-not $KeepFolder) { Remove-Item -Recurse -Force $dir }
Write-Host "Wrote $zip; give it to kmslens: kmslens analyze `"$OutDir`""
