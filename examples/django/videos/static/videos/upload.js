// The seed's page script. What changed for OpenVOD: nothing here (the SDK's <script src> changed in
// upload.html). What changed to make the seed's fragments run: they are wrapped in a form's submit
// handler, the seed's undeclared variables are declared, getVideoResponse takes the extra_data it
// reads, and the results are shown on the page.
(function () {
  'use strict';

  var $status = document.getElementById('status');
  var $progress = document.getElementById('media-progress');

  // Make the signature (the seed's getSignature): a function the SDK calls, not its result.
  function getSignature() {
    return axios.post('/CreateSignature/', JSON.stringify({
      "Action": "GetUgcUploadSign",
    })).then(function (response) {
      return response.data.data.signature;  // the signature the backend made
    });
  }

  var $video_id;

  // Ask the backend for the processed video's details (the seed's getVideoResponse).
  function getVideoResponse(extra_data) {
    console.log($video_id);
    console.log(extra_data['video_title']);
    return axios.post('/GetVideoResponse/', JSON.stringify({
      "fileId": $video_id,  // required: the FileId the upload returned
    })).then(function (response) {
      // The cover and the GIF, from the backend
      var $return_image_url = response.data.data.result.ProcedureTask.MediaProcessResultSet[1].CoverBySnapshotTask.Output.CoverUrl;
      var $return_image_gif_url = response.data.data.result.ProcedureTask.MediaProcessResultSet[0].AnimatedGraphicTask.Output.Url;
      // The duration, from the backend
      var duration = response.data.data.result.ProcedureTask.MetaData.Duration;
      document.getElementById('cover').src = $return_image_url;
      document.getElementById('gif').src = $return_image_gif_url;
      document.getElementById('duration').textContent = duration;
      document.getElementById('result').hidden = false;
      $status.textContent = 'processed';
      return response.data.data.result;
    });
  }

  document.getElementById('upload-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var video_file = document.getElementById('video-file').files[0];
    var cover_file = document.getElementById('cover-file').files[0];
    var video_title = document.getElementById('video-title').value;

    var tcVod = new TcVod.default({
      getSignature: getSignature  // the function above: the SDK calls it when it needs a signature
    });
    var uploader = tcVod.upload({
      mediaFile: video_file,  // the media file (video, audio or picture), a File
      coverFile: cover_file,  // optional
    });
    // The video has been uploaded
    uploader.on('media_upload', function (info) {
      console.log(info);
    });
    // Upload progress of the video
    uploader.on('media_progress', function (info) {
      $progress.value = info.percent;
      $status.textContent = 'uploading ' + Math.round(info.percent * 100) + '%';
    });
    // The cover has been uploaded
    uploader.on('cover_upload', function (info) {
      console.log(info);
    });
    // Upload progress of the cover
    uploader.on('cover_progress', function (info) {
      console.log(info);
    });
    // Upload finished: the video's details
    uploader.done().then(function (doneResult) {
      console.log(doneResult);
      $video_id = doneResult.fileId;  // the FileId
      $status.textContent = 'uploaded ' + $video_id + ', processing';
      return getVideoResponse({'video_title': video_title});
    }).catch(function (err) {
      console.log(err);
      $status.textContent = 'failed: ' + (err && err.message ? err.message : err);
    });
  });
})();
